"""``python -m jax_sparse_dl``: runs the demo (see jax_sparse_dl.demo)."""

import sys

from jax_sparse_dl.demo import main

if __name__ == "__main__":
    sys.exit(main())
