"""scikit-learn's digits (1797 real 8x8 scans of handwritten digits) as MobileNet input images.

The images ship with scikit-learn (no download). They are upscaled bilinearly to
`image_size` x `image_size`, repeated to 3 channels, normalised (zero mean, unit variance over
the training split) and laid out NCHW float32. The split is stratified and fixed by `seed`.
"""
from __future__ import annotations

import dataclasses

import jax
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

NUM_CLASSES = 10


@dataclasses.dataclass(frozen=True)
class Split:
  images: np.ndarray  # (n, 3, size, size) float32
  labels: np.ndarray  # (n,) int32


def load(image_size: int = 64, held_out_fraction: float = 0.2, seed: int = 0):
  """(train, held_out) Splits of the digits, upscaled to image_size."""
  digits = load_digits()
  images = digits.images.astype(np.float32) / 16.0
  images = np.asarray(jax.image.resize(images, (len(images), image_size, image_size),
                                       "bilinear"))
  labels = digits.target.astype(np.int32)
  train_x, held_x, train_y, held_y = train_test_split(
      images, labels, test_size=held_out_fraction, stratify=labels, random_state=seed)
  mean, std = train_x.mean(), train_x.std()

  def split(x, y):
    x = (x - mean) / std
    return Split(np.repeat(x[:, None], 3, axis=1).astype(np.float32), y)

  return split(train_x, train_y), split(held_x, held_y)


def random_shifts(images: np.ndarray, rng: np.random.Generator, max_shift: int) -> np.ndarray:
  """Each image translated by up to max_shift pixels per axis, uncovered pixels set to the
  background (the image minimum): cheap augmentation against overfitting 1437 images."""
  if max_shift <= 0:
    return images
  n, _, h, w = images.shape
  pad = max_shift
  background = images.min()
  padded = np.pad(images, ((0, 0), (0, 0), (pad, pad), (pad, pad)), constant_values=background)
  dy, dx = rng.integers(0, 2 * pad + 1, size=(2, n))
  return np.stack([padded[i, :, dy[i]:dy[i] + h, dx[i]:dx[i] + w] for i in range(n)])


def batches(split: Split, batch_size: int, rng: np.random.Generator, max_shift: int = 0):
  """Shuffled full batches (the remainder is dropped, so every step has one shape)."""
  order = rng.permutation(len(split.labels))
  for start in range(0, len(order) - batch_size + 1, batch_size):
    idx = order[start:start + batch_size]
    yield random_shifts(split.images[idx], rng, max_shift), split.labels[idx]
