"""The corpus: every .py file of the running Python's standard library, as bytes.

It exists on every machine with Python, needs no download, and is real text (code, comments,
docstrings). Files are read in sorted order; each goes to validation when a CRC32 of its path
relative to the library falls in the validation share, so the split does not depend on which
other files exist. Vocabulary: the 256 byte values (bits per character = bits per byte).
"""
from __future__ import annotations

import dataclasses
import sysconfig
import zlib
from pathlib import Path

import numpy as np

VOCAB_SIZE = 256


@dataclasses.dataclass
class Corpus:
  train: np.ndarray       # uint8 bytes of the training files, concatenated
  validation: np.ndarray  # uint8 bytes of the validation files
  files: int


def stdlib_files(root: str | None = None) -> list[Path]:
  """The standard library's .py files (site-packages excluded), sorted by relative path."""
  root = Path(root or sysconfig.get_paths()["stdlib"])
  files = [p for p in root.rglob("*.py") if "site-packages" not in p.relative_to(root).parts]
  return sorted(files, key=lambda p: p.relative_to(root).as_posix())


def load_corpus(validation_percent: int = 5, max_bytes: int | None = None,
                root: str | None = None) -> Corpus:
  """Reads the corpus; `max_bytes` caps the training text (validation keeps its share)."""
  root_path = Path(root or sysconfig.get_paths()["stdlib"])
  train, validation, budget = [], [], max_bytes
  files = stdlib_files(root)
  for path in files:
    data = path.read_bytes()
    bucket = zlib.crc32(path.relative_to(root_path).as_posix().encode()) % 100
    target = validation if bucket < validation_percent else train
    target.append(data)
    if budget is not None and target is train:
      budget -= len(data)
      if budget <= 0:
        break
  join = lambda parts: np.frombuffer(b"\n".join(parts), np.uint8)
  return Corpus(join(train), join(validation), len(files))


def random_batch(text: np.ndarray, rng: np.random.Generator, batch: int, length: int):
  """(inputs, targets), each (batch, length) int32: random crops and the next byte of each."""
  starts = rng.integers(0, text.shape[0] - length - 1, batch)
  windows = text[starts[:, None] + np.arange(length + 1)].astype(np.int32)
  return windows[:, :-1], windows[:, 1:]


def evaluation_batches(text: np.ndarray, batches: int, batch: int, length: int, seed: int = 1234):
  """A fixed list of batches (same crops every evaluation, so evaluations compare)."""
  rng = np.random.default_rng(seed)
  return [random_batch(text, rng, batch, length) for _ in range(batches)]
