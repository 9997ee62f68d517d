"""Copy the DLMC matrices a device call needs into a small folder of the same layout.

The device machine takes at most 64 MiB of working tree and carried paths together; the whole
sample (32 MB) no longer fits beside the tracked files and the prebuilt wheel and harnesses. The
copy holds the matrices the benchmark picks with ``--limit-per-level K`` (the same selection:
`jax_sparse_dl.bench.problems.select_per_level`; K = 0 picks none), any extra files named
relative to SRC, and rn50_batchsizes.txt. Keep extras in a copy of their own: beside the picks
they would change what ``--limit-per-level`` picks there.

    python scripts/slim_dlmc.py .dlmc .dlmc/slim --limit-per-level 1 [--extra rn50/.../x.smtx.gz]
"""
import argparse
import shutil
from pathlib import Path

from jax_sparse_dl.bench import problems


def slim(src: Path, dst: Path, limit: int, extra: list[str]) -> list[Path]:
    src, dst = src.resolve(), dst.resolve()
    # The destination may sit inside the source: never select from an earlier copy.
    picked = [] if limit == 0 else [
        Path(m.path) for m in problems.select_per_level(problems.discover([src]), limit)
        if dst not in Path(m.path).resolve().parents]
    files = [p.resolve().relative_to(src) for p in picked]
    files += [Path(e) for e in extra]
    if (src / problems.BATCHSIZES_FILE).is_file():
        files.append(Path(problems.BATCHSIZES_FILE))
    files = list(dict.fromkeys(files))
    if dst.exists():
        shutil.rmtree(dst)
    for rel in files:
        if not (src / rel).is_file():
            raise SystemExit(f"slim_dlmc: {src / rel} is not a file")
        (dst / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src / rel, dst / rel)
    return files


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("src", type=Path)
    p.add_argument("dst", type=Path)
    p.add_argument("--limit-per-level", type=int, default=1, help="0: none")
    p.add_argument("--extra", action="append", default=[], help="a file relative to SRC")
    args = p.parse_args()
    files = slim(args.src, args.dst, args.limit_per_level, args.extra)
    size = sum(f.stat().st_size for f in args.dst.rglob("*") if f.is_file())
    print(f"{len(files)} files, {size / 2**20:.1f} MiB in {args.dst}")


if __name__ == "__main__":
    main()
