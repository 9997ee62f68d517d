"""Every SpMM and SDDMM kernel variant (JSDL_SPMM_VARIANT / JSDL_SDDMM_VARIANT force one) against float64 references on
shapes that hit its edges: several shared-memory chunks, a partial last column tile, narrow n,
n not a multiple of the vector width, empty rows, unsorted and repeated columns, batches that
broadcast, bias + ReLU, nnz = 0; for SDDMM also tiles that span rows, d not a multiple of the
vector width, d split between warps. GPU only."""

import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jax_sparse_dl as jsdl
from conftest import (assert_close, dense_from_entries, entry_rows, rand_dense, rel_err,
                      rounded)

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(
        not (jax.default_backend() == "gpu" and jsdl.has_cuda_kernels()),
        reason="needs a GPU backend and the jax_sparse_dl CUDA module",
    ),
]

# panel:128 asks for more shared memory than k = 1500 allows: the tile shrinks until it fits.
# stream[:<rows per block>[:<pass rows>]]: one row a block (stream:1), rows interleaved over blocks
# and warps (stream:7), one block of all rows (stream:100000) and the automatic one wave (stream);
# the panel in passes of 100 or 64 rows (8 and 13 passes at k = 800, 15 and 24 at k = 1500);
# wide-stream[:<rows per block>]: two vectors a lane, 256-byte panel rows (k = 1500 does not fit:
# the heuristic's choice runs), so a partial last tile ends in a lane's first or second vector;
# rows-stream[:<rows per block>]: the same panel, each 8-lane group owning whole rows.
# narrow-stream[:<rows per block>]: 64-byte panel rows of 4-lane groups (float32: a partial last
# tile of 16 columns; lanes 4 apart hold the same sums, one stores).
# gather:<tile>:<rows>:<lanes>[:<warps>]: several vectors a lane (4 lanes x 4 or x 2, 8 lanes x 2
# or x 4, 16 x 2, 32 x 2) and blocks of 16 or 32 warps. wgmma: the tensor-core tile over the
# tile index (float32 on a 9.0 device of a build with sm_90a, 3xTF32 at the suite's HIGHEST;
# elsewhere, and for 16-bit types, the heuristic's choice): k = 800 and 1500 take the 3-stage
# ring round several times, n = 200 ends in a partial column tile, m = 77 in a partial row tile.
# gather-batched[:<tile>:<rows>[:<warps>]]: dense-row loads of several steps at once (16-byte
# rows only; elsewhere the one-step gather kernel), the last batch of a row partly past its end.
VARIANTS = ["gather-batched", "gather-batched:64:3:4", "gather-batched:32:2:16", "gather", "gather:16:1", "gather:32:4", "gather:64:16", "gather:128:2", "gather:64:2:4",
            "gather:32:1:4", "gather:64:3:8", "gather:128:1:16", "gather:256:1:32",
            "gather:128:3:8:32", "gather:64:2:0:16", "gather:32:5:0:32", "panel:4:1", "panel:16:2",
            "panel:32:4", "panel:64:1", "panel:128:8", "stream", "stream:1", "stream:7",
            "stream:100000", "stream:7:100", "stream:100000:64", "wide-stream", "wide-stream:1",
            "wide-stream:7", "wide-stream:100000", "rows-stream", "rows-stream:1", "rows-stream:7",
            "rows-stream:100000", "narrow-stream", "narrow-stream:1", "narrow-stream:7",
            "narrow-stream:100000", "wgmma"]


# mma:<edge> runs on tensor cores: 16-bit inputs exactly, float32 at HIGHEST (the suite's default)
# in 3xTF32, held to float32's tolerance; float32 at DEFAULT (TF32) is tested separately.
# flat:<split>:<lanes>: 4 or 8 lanes an entry; mma:64:<parts>:1: one k-group of 4 warps;
# tile:<edge>:1:<shares> and mma:<edge>:1:<groups>:<shares>: the output's shares over 2 or 4
# blocks a tile (tile:32 walks rows, the others read the tile index; 128 in two passes);
# mma:64:<parts>:2:<shares>:8: 8 warps of 32 x 16 in 3xTF32 (float32 at HIGHEST; else as mma:64).
# wgmma[:<parts>[:<shares>]]: the wgmma tile fed by TMA (a 9.0 device, a build with sm_90a, rows
# of d a multiple of 16 bytes; elsewhere the heuristic's choice: d = 7, 1, and 260 in 16-bit), d
# split over a cluster (wgmma:2) or the output in shares (wgmma:1:2).
SDDMM_VARIANTS = ["row", "row:8:2", "row:4:4", "flat:1", "flat:4", "flat:8", "flat:16", "flat:1:4",
                  "flat:1:8", "flat:4:4", "flat:8:8", "tile:32", "tile:64", "tile:64:2", "tile:128",
                  "mma:64", "mma:64:2", "mma:64:1:1", "mma:64:2:1", "mma:128", "tile:32:1:2",
                  "tile:64:1:4", "tile:128:1:2", "mma:64:1:2:2", "mma:64:1:1:4", "mma:128:1:2:4",
                  "mma:64:1:2:1:8", "mma:64:2:2:1:8", "mma:64:1:2:2:8", "wgmma", "wgmma:2",
                  "wgmma:1:2"]
# TF32 keeps 10 of float32's 23 mantissa bits: products err by about 2^-11 relative.
TF32_TOL = 4e-3


@pytest.fixture
def variant(request, monkeypatch):
  monkeypatch.setenv("JSDL_SPMM_VARIANT", request.param)
  return request.param


@pytest.fixture
def sddmm_variant(request, monkeypatch):
  monkeypatch.setenv("JSDL_SDDMM_VARIANT", request.param)
  return request.param


def scrambled_pattern(rng, m, k, density, empty_rows=3):
  """CSR parts with rows in random column order, a few repeated columns and empty rows."""
  indptr, indices = [0], []
  empty = set(rng.choice(m, size=min(empty_rows, m), replace=False).tolist())
  for i in range(m):
    cols = [] if i in empty else rng.choice(k, size=rng.binomial(k, density), replace=False).tolist()
    if cols and rng.random() < 0.3:
      cols.append(cols[0])  # a duplicate: summed, like todense does
    rng.shuffle(cols)
    indices += cols
    indptr.append(len(indices))
  return np.asarray(indptr, np.int32), np.asarray(indices, np.int32)


def run_fresh(fn, *args):
  """A new jitted function per call: the variant is read when the executable first runs."""
  return jax.jit(lambda *a: fn(*a))(*args)


@pytest.mark.parametrize("variant", VARIANTS, indirect=True)
@pytest.mark.parametrize("dtype", [jnp.float32, jnp.bfloat16, jnp.float16])
@pytest.mark.parametrize("m, k, n, density", [(77, 800, 200, 0.2), (40, 1500, 40, 0.05),
                                              (33, 64, 36, 0.5), (9, 5, 4, 0.6)])
def test_variant_matches_float64(rng, variant, dtype, m, k, n, density):
  indptr, indices = scrambled_pattern(rng, m, k, density)
  nnz = indices.shape[0]
  vals, v64 = rounded(rng.standard_normal((2, nnz)), dtype)
  x, x64 = rand_dense(rng, (k, n), dtype)
  bias, b64 = rand_dense(rng, (1, m), dtype)
  A = jsdl.CSR.from_parts(vals, indptr, indices, (m, k))
  out = run_fresh(lambda A, x, b: jsdl.spmm(A, x, bias=b, relu=True), A, x, bias)
  ref = np.maximum(dense_from_entries(v64, indptr, indices, m, k) @ x64 + b64[..., None], 0)
  assert out.shape == (2, m, n)
  assert_close(out, ref, dtype, what=f"{variant} {m}x{k}x{n}")


@pytest.mark.parametrize("variant", VARIANTS, indirect=True)
@pytest.mark.parametrize("k", [7, 0])
def test_variant_empty_pattern(variant, k):
  A = jsdl.CSR.from_parts(jnp.zeros((0,), jnp.float32), np.zeros(6, np.int32),
                          np.zeros(0, np.int32), (5, k))
  x = jnp.full((k, 12), jnp.nan, jnp.float32)  # never read: nothing to multiply
  out = run_fresh(lambda A, x: jsdl.spmm(A, x, bias=jnp.arange(5.0)), A, x)
  np.testing.assert_array_equal(np.asarray(out), np.broadcast_to(np.arange(5.0)[:, None], (5, 12)))


@pytest.mark.parametrize("variant", ["auto", "gather:64:4:8", "gather:64:4", "gather:64:3:8:32"],
                         indirect=True)
@pytest.mark.parametrize("dtype", [jnp.float32, jnp.bfloat16])
def test_attention_like_shape(rng, variant, dtype):
  """The heuristic's attention case (k >= 1024, head dim 64: one 64-column tile, 8 lanes a
  group; float32 in blocks of 32 warps x 2 rows, bfloat16 8 warps x 4 rows): a causal band plus
  far entries, sorted columns, empty rows, two heads sharing the pattern."""
  m = k = 1100
  mask = np.tril(np.ones((m, k), bool)) & ~np.tril(np.ones((m, k), bool), -40)
  mask |= np.tril(rng.random((m, k)) < 0.01)
  mask[[5, 300]] = False
  indptr = np.concatenate([[0], np.cumsum(mask.sum(1))]).astype(np.int32)
  indices = np.nonzero(mask)[1].astype(np.int32)
  vals, v64 = rounded(rng.standard_normal((2, indices.shape[0])), dtype)
  x, x64 = rand_dense(rng, (2, k, 64), dtype)
  A = jsdl.CSR.from_parts(vals, indptr, indices, (m, k))
  out = run_fresh(jsdl.spmm, A, x)
  ref = np.einsum("bmk,bkn->bmn", dense_from_entries(v64, indptr, indices, m, k), x64)
  assert_close(out, ref, dtype, what=f"{variant} attention-like")


@pytest.mark.parametrize("m, k, n, density", [(300, 500, 1000, 0.08), (300, 500, 1000, 0.01),
                                              (300, 1200, 1000, 0.03), (300, 1200, 1000, 0.01),
                                              (130, 2100, 600, 0.02), (130, 2100, 600, 0.2),
                                              (130, 2100, 600, 0.08), (5000, 300, 72, 0.005),
                                              (5000, 900, 72, 0.005), (5000, 300, 40, 0.08),
                                              (300, 1200, 132, 0.05), (300, 2100, 200, 0.05),
                                              (300, 2100, 200, 0.005)])
def test_heuristic_float32_layouts(rng, m, k, n, density):
  """The heuristic's float32 cases, each with a partial last column tile (and a batch of two
  value sets, which halves the stream kernel's rows a block): the wide stream kernel wherever
  its panel fits (k = 300, 500) and n fills a 64-column tile, at any re-use, or with n = 40
  where a block's rows use each panel row four times or more (76 rows x 0.08); where it does
  not fit (k = 900, 1200): the 128-byte stream kernel where they use it twice or more (150 x
  0.03 at k = 1200), else wide outputs with k < 2048 (16 lanes x 2 vectors; 0.01) and narrow
  outputs of many rows (8 x 2, blocks of 32 warps x 2 rows; 0.005 at k = 900); wide outputs
  with k >= 2048: passes where sparsity is 90% or more and the re-use 2 or more (44 x 0.08),
  else 8 x 2 in blocks of 32 warps (0.02, 0.2); narrow outputs with k >= 1024: the 128-byte
  stream kernel from a re-use of 0.5, whole (24 x 0.05 at k = 1200) or in passes (34 x 0.05 at
  k = 2100), else narrow gather tiles (0.005); scrambled rows, empty rows, bias + ReLU."""
  indptr, indices = scrambled_pattern(rng, m, k, density)
  vals, v64 = rounded(rng.standard_normal((2, indices.shape[0])), jnp.float32)
  x, x64 = rand_dense(rng, (k, n), jnp.float32)
  bias, b64 = rand_dense(rng, (1, m), jnp.float32)
  A = jsdl.CSR.from_parts(vals, indptr, indices, (m, k))
  out = run_fresh(lambda A, x, b: jsdl.spmm(A, x, bias=b, relu=True), A, x, bias)
  ref = np.maximum(dense_from_entries(v64, indptr, indices, m, k) @ x64 + b64[..., None], 0)
  assert_close(out, ref, jnp.float32, what=f"auto {m}x{k}x{n}")


@pytest.mark.parametrize("variant", ["stream:100000", "stream:1000", "stream:1000:128",
                                     "wide-stream:100000", "wide-stream:1000",
                                     "rows-stream:100000", "rows-stream:1000",
                                     "narrow-stream:100000", "narrow-stream:1000"],
                         indirect=True)
@pytest.mark.parametrize("dtype", [jnp.float32, jnp.bfloat16])
def test_stream_many_rows_per_warp(rng, variant, dtype):
  """The stream kernel loads its warp's row metadata 32 rows at a time: with one or two row
  blocks of 16 warps (24 for wide-stream), 1300 rows give each warp 27-82 rows, so several 32-row
  chunks, the last one partial (rows-stream: 64 groups of 8 lanes, 8 rows at a time, 10-21 rows
  a group); rows of 0 to about 70 entries (several 32-entry stages, a final
  partial one). With passes of 128 panel rows (3 at k = 300) the partial sums of 650 rows wait in
  shared memory."""
  m, k, n = 1300, 300, 96
  indptr, indices = scrambled_pattern(rng, m, k, 0.12, empty_rows=40)
  vals, v64 = rounded(rng.standard_normal(indices.shape[0]), dtype)
  x, x64 = rand_dense(rng, (k, n), dtype)
  A = jsdl.CSR.from_parts(vals, indptr, indices, (m, k))
  out = run_fresh(jsdl.spmm, A, x)
  assert_close(out, dense_from_entries(v64, indptr, indices, m, k) @ x64, dtype,
               what=f"{variant} {m}x{k}x{n}")


@pytest.mark.parametrize("variant", ["wide-stream", "wide-stream:7", "rows-stream",
                                     "rows-stream:7"], indirect=True)
@pytest.mark.parametrize("dtype", [jnp.float32, jnp.bfloat16])
def test_wide_stream_blocks_take_several_tiles(rng, variant, dtype):
  """More 256-byte column tiles than one wave of blocks (n = 19192: 300 tiles in float32, 150 in
  bfloat16, the last partial; 2 batch items; 1 or 6 row blocks): one wave of blocks takes them in
  turn, each copying its next tile's panel into a second buffer while this one's rows stream,
  and starting again at the next batch item. Dense rows no entry uses hold inf: neither buffer
  may leak them, nor miss its row of zeros."""
  m, k, n, batch = 40, 50, 19192, 2
  indptr, indices = scrambled_pattern(rng, m, k // 2, 0.3, empty_rows=4)
  vals, v64 = rand_dense(rng, (batch, indices.shape[0]), dtype)
  x64 = rng.standard_normal((batch, k, n))
  x64[:, k // 2:] = np.inf
  x, x64 = rounded(x64, dtype)
  A = jsdl.CSR.from_parts(vals, indptr, indices, (m, k))
  out = run_fresh(jsdl.spmm, A, x)
  ref = dense_from_entries(v64, indptr, indices, m, k)[..., : k // 2] @ x64[:, : k // 2]
  assert_close(out, ref, dtype, what=f"{variant} {m}x{k}x{n}")


@pytest.mark.parametrize("variant", ["panel:32:2", "panel:8:8", "stream", "stream:3",
                                     "stream:3:50", "wide-stream", "wide-stream:3", "rows-stream",
                                     "rows-stream:3", "narrow-stream", "narrow-stream:3",
                                     "wgmma"],
                         indirect=True)
def test_shared_copy_inf_in_unused_dense_rows(rng, variant):
  """Columns no entry uses may hold inf: the shared copy must not leak them into sums (the
  wgmma tile multiplies them by its zeros, and computes those outputs again from the entries)."""
  m, k, n = 20, 300, 64
  indptr, indices = scrambled_pattern(rng, m, k // 2, 0.3, empty_rows=0)  # columns < k/2 only
  vals, v64 = rounded(rng.standard_normal(indices.shape[0]), jnp.float32)
  x64 = rng.standard_normal((k, n))
  x64[k // 2:] = np.inf
  A = jsdl.CSR.from_parts(vals, indptr, indices, (m, k))
  out = run_fresh(jsdl.spmm, A, jnp.asarray(x64, jnp.float32))
  ref = dense_from_entries(v64, indptr, indices, m, k)[:, : k // 2] @ x64[: k // 2]
  assert_close(out, ref, jnp.float32)


@pytest.mark.parametrize("precision", ["highest", "default"])
def test_spmm_wgmma_dense_batch_with_inf_past_k(rng, monkeypatch, precision):
  """The wgmma tile's TMA copies read 64 dense rows a chunk from the whole batched buffer, so an
  item's last chunk (k = 100) reads the next item's first rows: here inf, in rows no entry uses
  (columns >= 28 only). They must not leak into either item's sums (the tile's zeros times inf
  give NaN, computed again from the entries)."""
  monkeypatch.setenv("JSDL_SPMM_VARIANT", "wgmma")
  m, k, n, used_from = 70, 100, 36, 28
  indptr, indices = scrambled_pattern(rng, m, k - used_from, 0.4)
  indices = indices + used_from
  vals, v64 = rand_dense(rng, (indices.shape[0],), jnp.float32)
  x64 = rng.standard_normal((3, k, n))
  x64[1:, :used_from] = np.inf
  A = jsdl.CSR.from_parts(vals, indptr, indices, (m, k))
  out = jax.jit(jax.vmap(lambda x: jsdl.spmm(A, x, precision=precision)))(
      jnp.asarray(x64, jnp.float32))
  dense64 = dense_from_entries(v64, indptr, indices, m, k)
  ref = np.stack([dense64[:, used_from:] @ x64[i, used_from:] for i in range(3)])
  if precision == "highest":
    assert_close(out, ref, jnp.float32)
  else:
    assert rel_err(np.asarray(out), ref) < TF32_TOL


def run_spmm_variant(monkeypatch, variant, precision, A, x):
  """spmm(A, x) at `precision` by the kernel variant named (None: the heuristic's)."""
  if variant is None:
    monkeypatch.delenv("JSDL_SPMM_VARIANT", raising=False)
  else:
    monkeypatch.setenv("JSDL_SPMM_VARIANT", variant)
  return np.asarray(run_fresh(lambda A, x: jsdl.spmm(A, x, precision=precision), A, x))


@pytest.mark.parametrize("precision", ["highest", "default"])
def test_spmm_wgmma_runs_where_built(rng, monkeypatch, precision):
  """The SpMM wgmma tile really runs on a 9.0 device of a build with sm_90a: its results differ
  bitwise from the CUDA-core gather kernel's, within float32's tolerance in 3xTF32 (HIGHEST) and
  TF32's at DEFAULT, where TF32 also differs from 3xTF32; elsewhere the variant falls back to the
  heuristic's choice, bitwise. Two value sets over one dense operand, 150 x 700 at 40% (3 row
  tiles, 11 chunks), n = 260 (3 column tiles, the last of 4 columns)."""
  m, k, n = 150, 700, 260
  indptr, indices = scrambled_pattern(rng, m, k, 0.4)
  vals, v64 = rand_dense(rng, (2, indices.shape[0]), jnp.float32)
  x, x64 = rand_dense(rng, (k, n), jnp.float32)
  A = jsdl.CSR.from_parts(vals, indptr, indices, (m, k))
  ref = dense_from_entries(v64, indptr, indices, m, k) @ x64
  wgmma = run_spmm_variant(monkeypatch, "wgmma", precision, A, x)
  gather = run_spmm_variant(monkeypatch, "gather", precision, A, x)
  assert_close(gather, ref, jnp.float32, what="gather")
  if precision == "highest":
    assert_close(wgmma, ref, jnp.float32, what="wgmma")
  else:
    assert rel_err(wgmma, ref) < TF32_TOL
  if wgmma_runs():
    assert not np.array_equal(wgmma, gather)
    if precision == "default":
      assert rel_err(wgmma, ref) > 1e-5  # TF32's products, not 3xTF32's
  else:
    np.testing.assert_array_equal(wgmma, run_spmm_variant(monkeypatch, None, precision, A, x))


@pytest.mark.parametrize("dtype, precision", [(jnp.float32, "highest"), (jnp.float32, "default"),
                                              (jnp.bfloat16, "default"), (jnp.float16, "default")])
def test_spmm_wgmma_non_finite_outputs_follow_the_entries(rng, monkeypatch, dtype, precision):
  """Infinities and NaN in used rows of the dense operand, and an infinite entry value: each
  output is what the entries give (the gather kernel's: +-inf, NaN or finite), never a NaN from
  a zero place of the tile times inf (n = 136: a partial column tile, 16-byte rows in 16 bits)."""
  m, k, n = 70, 200, 136
  indptr, indices = scrambled_pattern(rng, m, k, 0.3)
  vals64 = rng.standard_normal(indices.shape[0])
  vals64[5] = np.inf
  x64 = rng.standard_normal((k, n))
  x64[indices[40], 7] = np.inf
  x64[indices[90], 100] = -np.inf
  x64[3, 50] = np.nan
  A = jsdl.CSR.from_parts(jnp.asarray(vals64, dtype), indptr, indices, (m, k))
  x = jnp.asarray(x64, dtype)
  wgmma = run_spmm_variant(monkeypatch, "wgmma", precision, A, x).astype(np.float64)
  gather = run_spmm_variant(monkeypatch, "gather", "highest", A, x).astype(np.float64)
  np.testing.assert_array_equal(np.isnan(wgmma), np.isnan(gather))
  np.testing.assert_array_equal(np.isposinf(wgmma), np.isposinf(gather))
  np.testing.assert_array_equal(np.isneginf(wgmma), np.isneginf(gather))
  finite = np.isfinite(gather)
  assert finite.sum() > m * n // 2
  tol = {jnp.bfloat16: 1e-2, jnp.float16: 2e-3}.get(dtype, 1e-5 if precision == "highest"
                                                              else TF32_TOL)
  assert rel_err(wgmma[finite], gather[finite]) < tol


@pytest.mark.parametrize("dtype", [jnp.bfloat16, jnp.float16])
def test_spmm_wgmma_16bit_runs_where_built(rng, monkeypatch, dtype):
  """The 16-bit wgmma tile (one m64n64k16 a step: exact products, float32 sums) against float64
  and the gather kernel: 150 x 700 at 40% (3 row tiles, 11 chunks, repeated columns summed in the
  densified tile), n = 264 (a last column tile of 8), two value sets over one dense operand.
  Where it runs, its sums' order differs from the gather kernel's, so some roundings do too;
  elsewhere the variant falls back to the heuristic's choice, bitwise."""
  m, k, n = 150, 700, 264
  indptr, indices = scrambled_pattern(rng, m, k, 0.4)
  vals, v64 = rand_dense(rng, (2, indices.shape[0]), dtype)
  x, x64 = rand_dense(rng, (k, n), dtype)
  A = jsdl.CSR.from_parts(vals, indptr, indices, (m, k))
  ref = dense_from_entries(v64, indptr, indices, m, k) @ x64
  wgmma = run_spmm_variant(monkeypatch, "wgmma", "default", A, x)
  gather = run_spmm_variant(monkeypatch, "gather", "default", A, x)
  assert_close(wgmma, ref, dtype, what="wgmma")
  assert_close(gather, ref, dtype, what="gather")
  if wgmma_runs():
    assert not np.array_equal(wgmma, gather)
  else:
    np.testing.assert_array_equal(wgmma, run_spmm_variant(monkeypatch, None, "default", A, x))


@pytest.mark.parametrize("dtype, precision", [(jnp.float32, "highest"), (jnp.float32, "default"),
                                              (jnp.bfloat16, "default")])
def test_spmm_wgmma_blocks_take_several_work_items(rng, monkeypatch, dtype, precision):
  """The wgmma tile's grid is persistent (at most one block an SM): with 3 row tiles x 9 column
  tiles (the last of 8 columns) x 8 batch items = 216 work items, more than an H100's or H200's
  132 SMs, blocks go on to a next item of another column tile or batch item while their ring of
  stages runs on. Rows 64-127 have no entries in columns 64-191 (two chunks the producer and the
  consumers skip), so the ring's count differs between items. Each batch item has its own
  values and dense operand; every output is checked against float64."""
  m, k, n, batch = 130, 300, 1032, 8
  indptr, indices = scrambled_pattern(rng, m, k, 0.3)
  rows = entry_rows(indptr)
  keep = ~((rows >= 64) & (rows < 128) & (indices >= 64) & (indices < 192))
  indptr = np.concatenate([[0], np.cumsum(np.bincount(rows[keep], minlength=m))]).astype(np.int32)
  indices = indices[keep]
  vals, v64 = rand_dense(rng, (batch, indices.shape[0]), dtype)
  x, x64 = rand_dense(rng, (batch, k, n), dtype)
  A = jsdl.CSR.from_parts(vals, indptr, indices, (m, k))
  out = run_spmm_variant(monkeypatch, "wgmma", precision, A, x)
  ref = dense_from_entries(v64, indptr, indices, m, k) @ x64
  assert out.shape == (batch, m, n)
  if dtype == jnp.float32 and precision == "default":
    assert rel_err(out, ref) < TF32_TOL
  else:
    assert_close(out, ref, dtype, what="wgmma")


@pytest.mark.parametrize("variant", ["wgmma", "wgmma:2"])
@pytest.mark.parametrize("dtype, precision", [(jnp.float32, "highest"), (jnp.float32, "default"),
                                              (jnp.bfloat16, "default")])
def test_spmm_wgmma_pipeline_over_chunk_patterns(rng, monkeypatch, variant, dtype, precision):
  """The wgmma tile's consumers skip chunks without entries; 3xTF32's take an item's first chunk
  with entries on a path of its own (First, then Next). Six row tiles over k = 300 (5 chunks, the
  last partial) take every path: no chunk with entries, only the last, only the first, chunks 0,
  2 and 4, chunks 1 and 2, all five; in 2 parts over k (wgmma:2: chunks 0-2 and 3-4) some parts
  hold none. Each against float64."""
  m, k, n = 6 * 64, 300, 136
  keep_chunks = [(), (4,), (0,), (0, 2, 4), (1, 2), (0, 1, 2, 3, 4)]
  mask = rng.random((m, k)) < 0.3
  for tile, chunks in enumerate(keep_chunks):
    for c in range(5):
      if c not in chunks:
        mask[64 * tile:64 * (tile + 1), 64 * c:64 * (c + 1)] = False
  indptr = np.concatenate([[0], np.cumsum(mask.sum(1))]).astype(np.int32)
  indices = np.nonzero(mask)[1].astype(np.int32)
  vals, v64 = rand_dense(rng, (indices.shape[0],), dtype)
  x, x64 = rand_dense(rng, (k, n), dtype)
  A = jsdl.CSR.from_parts(vals, indptr, indices, (m, k))
  out = run_spmm_variant(monkeypatch, variant, precision, A, x)
  ref = dense_from_entries(v64, indptr, indices, m, k) @ x64
  assert not ref[:64].any() and ref[64:].all()
  if dtype == jnp.float32 and precision == "default":
    assert rel_err(out, ref) < TF32_TOL
  else:
    assert_close(out, ref, dtype, what=variant)
  np.testing.assert_array_equal(out[:64], 0)


@pytest.mark.parametrize("parts", [2, 3, 8])
@pytest.mark.parametrize("dtype, precision", [(jnp.float32, "highest"), (jnp.float32, "default"),
                                              (jnp.bfloat16, "default")])
def test_spmm_wgmma_k_parts(rng, monkeypatch, parts, dtype, precision):
  """Parts over k (wgmma:<parts>): 3 row tiles x 2 column tiles (the last of 8 columns) x 2 batch
  items = 12 work items, each item's 11 chunks of k in parts on other blocks: 2 (6 + 5 chunks), 3
  (4 + 4 + 3) or, asked for 8, 6 (2 chunks each, the last 1: no part is left empty); the last part
  of an item to finish adds the others' sums, then bias and ReLU. Rows 64-127 have no entries in
  columns 64-447: some of their parts hold no tile at all (their warpgroups reach the counter
  without a stage). Dense rows 690-699 are inf and used by no entry: the tile's zeros make some
  parts' sums NaN, so the joined sums are computed again from the entries. Against float64; at
  HIGHEST, with those rows finite, the sums also differ bitwise from one part's (the parts really
  ran)."""
  m, k, n, batch = 130, 700, 136, 2
  indptr, indices = scrambled_pattern(rng, m, 690, 0.3)
  rows = entry_rows(indptr)
  keep = ~((rows >= 64) & (rows < 128) & (indices >= 64) & (indices < 448))
  indptr = np.concatenate([[0], np.cumsum(np.bincount(rows[keep], minlength=m))]).astype(np.int32)
  indices = indices[keep]
  vals, v64 = rand_dense(rng, (batch, indices.shape[0]), dtype)
  x64 = rng.standard_normal((batch, k, n))
  x64[:, 690:] = np.inf
  x, x64 = rounded(x64, dtype)
  bias, b64 = rand_dense(rng, (batch, m), dtype)
  A = jsdl.CSR.from_parts(vals, indptr, indices, (m, k))

  def run(variant, x=x):
    monkeypatch.setenv("JSDL_SPMM_VARIANT", variant)
    return np.asarray(run_fresh(lambda A, x, b: jsdl.spmm(A, x, bias=b, relu=True,
                                                          precision=precision), A, x, bias))

  out = run(f"wgmma:{parts}")
  ref = np.maximum(dense_from_entries(v64, indptr, indices, m, k)[..., :690] @ x64[:, :690]
                   + b64[..., None], 0)
  assert out.shape == (batch, m, n)
  if dtype == jnp.float32 and precision == "default":
    assert rel_err(out, ref) < TF32_TOL
  else:
    assert_close(out, ref, dtype, what=f"wgmma:{parts}")
  if wgmma_runs() and dtype == jnp.float32 and precision == "highest":
    # Without the inf rows (every item's last chunk has NaN tile sums, all recomputed alike).
    finite = x.at[:, 690:].set(1.0)
    joined, whole = run(f"wgmma:{parts}", finite), run("wgmma:1", finite)
    assert_close(joined, ref, dtype, what=f"wgmma:{parts}, finite")
    assert not np.array_equal(joined, whole)


def test_spmm_wgmma_gradients(rng, monkeypatch):
  """Both gradients of a wgmma SpMM: d values is an SDDMM, d x an SpMM with A^T, whose tile
  index is the transposed pattern's (130 x 260 -> 260 x 130)."""
  monkeypatch.setenv("JSDL_SPMM_VARIANT", "wgmma")
  m, k, n = 130, 260, 68
  indptr, indices = scrambled_pattern(rng, m, k, 0.35)
  vals, v64 = rand_dense(rng, (indices.shape[0],), jnp.float32)
  x, x64 = rand_dense(rng, (k, n), jnp.float32)
  w64 = rng.standard_normal((m, n))
  A = jsdl.CSR.from_parts(vals, indptr, indices, (m, k))
  loss = lambda v, x: jnp.sum(jsdl.spmm(A.with_values(v), x) * jnp.asarray(w64, jnp.float32))
  d_vals, d_x = jax.jit(jax.grad(loss, argnums=(0, 1)))(vals, x)
  dense64 = dense_from_entries(v64, indptr, indices, m, k)
  assert_close(d_x, dense64.T @ w64, jnp.float32, what="d x")
  assert_close(d_vals, (w64 @ x64.T)[entry_rows(indptr), indices], jnp.float32, what="d values")


def run_sddmm_variant(monkeypatch, variant, precision, q, kk, A):
  """sddmm(q, kk, A) at `precision` by the kernel variant named (None: the heuristic's)."""
  if variant is None:
    monkeypatch.delenv("JSDL_SDDMM_VARIANT", raising=False)
  else:
    monkeypatch.setenv("JSDL_SDDMM_VARIANT", variant)
  return np.asarray(run_fresh(
      lambda q, kk, A: jsdl.sddmm(q, kk, A, precision=precision).values, q, kk, A))


def wgmma_runs():
  """Whether the wgmma tiles (SDDMM, SpMM) can run here: a build with sm_90a on a 9.0 device."""
  from jax_sparse_dl import _jsdl_cuda
  return _jsdl_cuda.wgmma_built and jax.devices()[0].compute_capability == "9.0"


def skip_unaligned_wgmma(variant, d):
  """The wgmma tile takes rows of d in multiples of 16 bytes; elsewhere its variant runs the
  heuristic's kernel (test_sddmm_wgmma_runs_where_built), not a tensor-core one."""
  if variant.startswith("wgmma") and d % 4:
    pytest.skip(f"float32 rows of d = {d} are not 16-byte aligned: no wgmma tile")


def _sddmm_reference(q64, k64, indptr, indices):
  return np.einsum("...ed,...ed->...e", q64[..., entry_rows(indptr), :], k64[..., indices, :])


@pytest.mark.parametrize("sddmm_variant", SDDMM_VARIANTS, indirect=True)
@pytest.mark.parametrize("dtype", [jnp.float32, jnp.bfloat16, jnp.float16])
@pytest.mark.parametrize("m, k, d, density", [(77, 300, 64, 0.2), (40, 900, 7, 0.05),
                                              (33, 64, 260, 0.5), (9, 5, 1, 0.6),
                                              (20, 50, 2048, 0.3)])
def test_sddmm_variant_matches_float64(rng, sddmm_variant, dtype, m, k, d, density):
  indptr, indices = scrambled_pattern(rng, m, k, density)
  A = jsdl.CSR.from_parts(jnp.ones(indices.shape, dtype), indptr, indices, (m, k))
  q, q64 = rand_dense(rng, (3, 1, m, d), dtype)   # broadcasts against k's second batch dim
  kk, k64 = rand_dense(rng, (1, 2, k, d), dtype)
  out = run_fresh(lambda q, kk, A: jsdl.sddmm(q, kk, A).values, q, kk, A)
  ref = _sddmm_reference(np.broadcast_to(q64, (3, 2, m, d)), np.broadcast_to(k64, (3, 2, k, d)),
                         indptr, indices)
  assert out.shape == (3, 2, indices.shape[0])
  assert_close(out, ref, dtype, what=f"sddmm {sddmm_variant} {m}x{k} d={d}")


@pytest.mark.parametrize("sddmm_variant", ["flat:1", "flat:4", "flat:1:4", "flat:8:8"],
                         indirect=True)
@pytest.mark.parametrize("m, every, d", [(3000, 1, 40), (3000, 37, 40), (40000, 500, 8),
                                         (33, 1, 7)])
def test_sddmm_flat_entry_rows(rng, sddmm_variant, m, every, d):
  """The flat kernel takes each entry's row from the pattern's entry_rows: long patterns (m = 3000
  and 40000), long runs of empty rows (rows kept every 37th or 500th), a short one (m = 33), the
  last rows empty. (Until session 61 it searched row_offsets in levels of 32 rows.)"""
  keep = np.arange(m) % every == 0
  keep[-3:] = False
  indptr, indices = [0], []
  for i in range(m):
    cols = rng.choice(50, size=rng.integers(1, 6), replace=False) if keep[i] else []
    indices += list(cols)
    indptr.append(len(indices))
  indptr, indices = np.asarray(indptr, np.int32), np.asarray(indices, np.int32)
  A = jsdl.CSR.from_parts(jnp.ones(indices.shape, jnp.float32), indptr, indices, (m, 50))
  q, q64 = rand_dense(rng, (m, d), jnp.float32)
  kk, k64 = rand_dense(rng, (50, d), jnp.float32)
  out = run_fresh(lambda q, kk, A: jsdl.sddmm(q, kk, A).values, q, kk, A)
  assert_close(out, _sddmm_reference(q64, k64, indptr, indices), jnp.float32,
               what=f"sddmm {sddmm_variant} m={m} every {every}")


@pytest.mark.parametrize("sddmm_variant", SDDMM_VARIANTS, indirect=True)
def test_sddmm_variant_empty_pattern(sddmm_variant):
  A = jsdl.CSR.from_parts(jnp.zeros((0,), jnp.float32), np.zeros(6, np.int32),
                          np.zeros(0, np.int32), (5, 7))
  out = run_fresh(lambda q, kk, A: jsdl.sddmm(q, kk, A).values, jnp.ones((5, 8)),
                  jnp.ones((7, 8)), A)
  assert out.shape == (0,)


@pytest.mark.parametrize("precision", ["highest", "default"])
@pytest.mark.parametrize("dtype", [jnp.float32, jnp.bfloat16])
@pytest.mark.parametrize("d", [64, 37])
def test_sddmm_output_shares_match_one_block(rng, monkeypatch, precision, dtype, d):
  """Shares of a tile's output over 2 or 4 blocks (each computes the whole tile and stores its
  share of the entries) give the one-block result bitwise. The shared run takes -lhs, whose
  products are exactly the negated ones: an entry it failed to write would keep what a reused
  buffer held (the one-block run's value) and show. The heuristic takes 2 shares on 64 tiles at
  50% (session 23), on the SIMT tile where tensor cores do not serve (d < 64), in 3xTF32 on 8
  warps at HIGHEST (session 44), and matches the forced variant bitwise."""
  m, k = 512, 500  # 8 x 8 tiles, partial last column
  indptr, indices = scrambled_pattern(rng, m, k, 0.5)
  A = jsdl.CSR.from_parts(jnp.ones(indices.shape, dtype), indptr, indices, (m, k))
  q, q64 = rand_dense(rng, (m, d), dtype)
  kk, k64 = rand_dense(rng, (k, d), dtype)
  ref = _sddmm_reference(q64, k64, indptr, indices)

  def run(variant, lhs):
    return run_sddmm_variant(monkeypatch, variant, precision, lhs, kk, A)

  tf32 = dtype == jnp.float32 and precision == "default"
  for one, shared in (("tile:64", "tile:64:1:4"), ("tile:64", "tile:64:1:2"),
                      ("mma:64", "mma:64:1:2:2"), ("mma:64:1:1", "mma:64:1:1:4"),
                      ("mma:64:1:2:1:8", "mma:64:1:2:2:8")):
    base = run(one, q)
    assert_close(base, ref, dtype, factor=400.0 if tf32 and one.startswith("mma") else 1.0,
                 what=one)
    np.testing.assert_array_equal(run(shared, -q), -base, err_msg=f"{shared} against {one}")
  highest = dtype == jnp.float32 and precision == "highest"
  forced = run("tile:64:1:2" if d < 64 else "mma:64:1:2:2:8" if highest else "mma:64:1:2:2", q)
  np.testing.assert_array_equal(run(None, -q), -forced)


@pytest.mark.parametrize("sddmm_variant", ["mma:64", "mma:64:2", "mma:64:1:1", "mma:64:2:1",
                                           "mma:128", "mma:64:1:1:4", "wgmma", "wgmma:2"],
                         indirect=True)
@pytest.mark.parametrize("m, k, d, density", [(77, 300, 64, 0.2), (33, 64, 260, 0.5),
                                              (20, 50, 2048, 0.3), (130, 200, 7, 0.3)])
def test_sddmm_tensor_core_variant_float32_at_default(rng, sddmm_variant, m, k, d, density):
  """float32 at DEFAULT on TF32 tensor cores: within TF32's error, and not float32's (the
  tensor-core path really ran); d = 7 takes the one-element loads."""
  skip_unaligned_wgmma(sddmm_variant, d)
  indptr, indices = scrambled_pattern(rng, m, k, density)
  A = jsdl.CSR.from_parts(jnp.ones(indices.shape, jnp.float32), indptr, indices, (m, k))
  q, q64 = rand_dense(rng, (2, m, d), jnp.float32)
  kk, k64 = rand_dense(rng, (k, d), jnp.float32)
  out = run_fresh(lambda q, kk, A: jsdl.sddmm(q, kk, A, precision="default").values, q, kk, A)
  err = rel_err(out, _sddmm_reference(q64, k64, indptr, indices))
  assert 1e-6 < err < TF32_TOL, f"{sddmm_variant} {m}x{k} d={d}: relative error {err:.2e}"


@pytest.mark.parametrize("sddmm_variant", ["mma:64", "mma:64:2", "mma:128", "mma:64:1:2:1:8",
                                           "mma:64:2:2:1:8", "wgmma", "wgmma:2"],
                         indirect=True)
@pytest.mark.parametrize("m, k, d, density", [(77, 300, 64, 0.2), (33, 64, 260, 0.5),
                                              (20, 50, 2048, 0.3), (130, 200, 7, 0.3)])
def test_sddmm_tensor_core_variant_float32_at_highest(rng, monkeypatch, sddmm_variant, m, k, d,
                                                      density):
  """float32 at HIGHEST on tensor cores is 3xTF32: float32's error (under 1e-6, and within a few
  times the SIMT tile kernel's), far below TF32's (the three products really ran), and not
  bitwise the SIMT kernel's result (the tensor-core path really ran)."""
  skip_unaligned_wgmma(sddmm_variant, d)
  indptr, indices = scrambled_pattern(rng, m, k, density)
  A = jsdl.CSR.from_parts(jnp.ones(indices.shape, jnp.float32), indptr, indices, (m, k))
  q, q64 = rand_dense(rng, (2, m, d), jnp.float32)
  kk, k64 = rand_dense(rng, (k, d), jnp.float32)
  def at(precision):
    return np.asarray(run_fresh(
        lambda q, kk, A: jsdl.sddmm(q, kk, A, precision=precision).values, q, kk, A))

  ref = _sddmm_reference(q64, k64, indptr, indices)
  split, tf32 = at("highest"), at("default")
  monkeypatch.setenv("JSDL_SDDMM_VARIANT", "tile:64")
  simt = at("highest")
  err, tf32_err, simt_err = rel_err(split, ref), rel_err(tf32, ref), rel_err(simt, ref)
  what = f"{sddmm_variant} {m}x{k} d={d}: 3xTF32 {err:.2e}, TF32 {tf32_err:.2e}, SIMT {simt_err:.2e}"
  assert err < 1e-6 and err < 4 * simt_err + 1e-7 and err < tf32_err / 50, what
  assert not np.array_equal(split, simt), what


@pytest.mark.parametrize("sddmm_variant", ["mma:64", "mma:64:2", "mma:128", "mma:64:1:2:1:8",
                                           "wgmma"], indirect=True)
def test_sddmm_3xtf32_keeps_infinities(rng, sddmm_variant):
  """3xTF32 splits each value in two (the small part of +-inf is NaN): entries whose dot
  products meet an infinite input are +-inf, or NaN where float32 gives NaN (inf x 0,
  inf - inf), like the float64 reference; all others stay finite and accurate."""
  m, k, d = 70, 90, 40
  mask = rng.random((m, k)) < 0.3
  mask[3] = mask[:, 20] = True
  indptr = np.concatenate([[0], np.cumsum(mask.sum(1))]).astype(np.int32)
  indices = np.nonzero(mask)[1].astype(np.int32)
  q64, k64 = rng.standard_normal((m, d)), rng.standard_normal((k, d))
  q64[3, 5] = np.inf        # row 3: +-inf by the sign of k[:, 5] ...
  k64[11, 5] = 0.0          # ... but (3, 11) is inf x 0: NaN
  k64[20, 8] = -np.inf      # column 20: -+inf by the sign of q[:, 8] ...
  q64[40, 8] = 0.0          # ... but (40, 20) is NaN
  k64[20, 5], q64[3, 8] = 1.0, -1.0  # (3, 20): inf + inf, not inf - inf
  A = jsdl.CSR.from_parts(jnp.ones(indices.shape, jnp.float32), indptr, indices, (m, k))
  q, kk = jnp.asarray(q64, jnp.float32), jnp.asarray(k64, jnp.float32)
  out = np.asarray(run_fresh(lambda q, kk, A: jsdl.sddmm(q, kk, A, precision="highest").values,
                             q, kk, A), np.float64)
  with np.errstate(invalid="ignore"):
    ref = _sddmm_reference(np.asarray(q, np.float64), np.asarray(kk, np.float64), indptr, indices)
  assert np.isnan(ref).sum() == 2 and np.isinf(ref).sum() > 20  # the cases above all occur
  np.testing.assert_array_equal(np.isnan(out), np.isnan(ref))
  np.testing.assert_array_equal(out[np.isinf(ref)], ref[np.isinf(ref)])
  finite = np.isfinite(ref)
  assert rel_err(out[finite], ref[finite]) < 1e-6


@pytest.mark.parametrize("sddmm_variant", ["wgmma", "wgmma:2"], indirect=True)
@pytest.mark.parametrize("precision, dtype", [("highest", jnp.float32), ("default", jnp.float32),
                                              ("default", jnp.bfloat16)])
@pytest.mark.parametrize("slices", [1, 2, 3, 4, 5])
def test_sddmm_wgmma_pipeline_over_slice_counts(rng, sddmm_variant, precision, dtype, slices):
  """The wgmma tile's d-loop keeps a slice's wgmma in flight while it issues the next (3xTF32:
  unrolled by two, the last slice apart), so its paths differ by the slice count: 1-5 slices of
  128 bytes (split over two blocks with wgmma:2: 1 + 0 to 3 + 2), the last one partial, each
  against float64 (3xTF32 at float32's error, far below TF32's)."""
  size = jnp.dtype(dtype).itemsize  # a partial last slice short by 16 bytes (TMA's rows)
  m, k, d = 100, 140, (128 * slices - 16 * (slices > 1)) // size
  indptr, indices = scrambled_pattern(rng, m, k, 0.4)
  A = jsdl.CSR.from_parts(jnp.ones(indices.shape, dtype), indptr, indices, (m, k))
  q, q64 = rand_dense(rng, (2, m, d), dtype)
  kk, k64 = rand_dense(rng, (k, d), dtype)
  out = np.asarray(run_fresh(
      lambda q, kk, A: jsdl.sddmm(q, kk, A, precision=precision).values, q, kk, A))
  ref = _sddmm_reference(q64, k64, indptr, indices)
  what = f"{sddmm_variant} {precision} d={d}"
  if dtype == jnp.float32:
    assert rel_err(out, ref) < (1e-6 if precision == "highest" else TF32_TOL), what
  else:
    assert_close(out, ref, dtype, what=what)


@pytest.mark.parametrize("precision", ["highest", "default", None])
@pytest.mark.parametrize("d", [260, 64, 32])
def test_sddmm_heuristic_tensor_cores_follow_precision(rng, monkeypatch, precision, d):
  """A dense-enough pattern with tiles for the whole GPU takes the tensor-core kernel from
  d = 64 (session 14): at DEFAULT in TF32 (TF32 error), at HIGHEST in 3xTF32 (session 18; at
  d = 64 since session 22; the wgmma tile from d = 256 since session 57); under d = 64 the SIMT
  tile kernel at every precision (float32 error; at HIGHEST bitwise the forced kernel's result).
  None follows jax.default_matmul_precision, here set back to unset (DEFAULT)."""
  m, k = 1000, 1100  # 16 x 18 tiles, partial last ones
  indptr, indices = scrambled_pattern(rng, m, k, 0.2)
  A = jsdl.CSR.from_parts(jnp.ones(indices.shape, jnp.float32), indptr, indices, (m, k))
  q, q64 = rand_dense(rng, (m, d), jnp.float32)
  kk, k64 = rand_dense(rng, (k, d), jnp.float32)
  with jax.default_matmul_precision(None):
    out = run_fresh(lambda q, kk, A: jsdl.sddmm(q, kk, A, precision=precision).values, q, kk, A)
  err = rel_err(out, _sddmm_reference(q64, k64, indptr, indices))
  if precision == "highest" or d < 64:
    assert err < 1e-6, err
  else:
    assert 1e-6 < err < TF32_TOL, err
  if precision == "highest":
    # The heuristic's kernel forced: the wgmma tile from d = 256 on these 288 tiles (session 57;
    # where it cannot run, the variant falls back to the heuristic's mma.sync tile).
    forced_variant = "wgmma" if d >= 256 else "mma:64" if d >= 64 else "tile:64"
    monkeypatch.setenv("JSDL_SDDMM_VARIANT", forced_variant)
    forced = run_fresh(lambda q, kk, A: jsdl.sddmm(q, kk, A, precision=precision).values, q, kk, A)
    np.testing.assert_array_equal(np.asarray(out), np.asarray(forced))


@pytest.mark.parametrize("sddmm_variant", ["tile:64", "mma:64", "tile:128", "mma:128"],
                         indirect=True)
@pytest.mark.parametrize("indexed", [True, False])
def test_sddmm_tile_index_and_row_walk(rng, sddmm_variant, indexed):
  """The tile kernels read their entries from the pattern's 64 x 64 tile index (a 128 x 128
  tile from the four index tiles it covers), or walk the rows when a pattern has none (both
  arrays empty: very sparse large matrices)."""
  m, k, d = 150, 300, 40  # partial last tiles; scrambled and repeated columns
  indptr, indices = scrambled_pattern(rng, m, k, 0.2)
  A = jsdl.CSR.from_parts(jnp.ones(indices.shape, jnp.float32), indptr, indices, (m, k))
  if not indexed:
    A = jsdl.CSR(A.values, A.sparsity.without_tile_index())
  q, q64 = rand_dense(rng, (2, m, d), jnp.float32)
  kk, k64 = rand_dense(rng, (k, d), jnp.float32)
  tf32 = sddmm_variant.startswith("mma")
  precision = "default" if tf32 else "highest"
  out = run_fresh(lambda q, kk, A: jsdl.sddmm(q, kk, A, precision=precision).values, q, kk, A)
  assert rel_err(out, _sddmm_reference(q64, k64, indptr, indices)) < (TF32_TOL if tf32 else 1e-5)


@pytest.mark.parametrize("dtype,precision", [(jnp.float32, "highest"), (jnp.float32, "default"),
                                             (jnp.bfloat16, "highest")])
def test_sddmm_split_d_is_deterministic_and_chosen_for_few_tiles(rng, monkeypatch, dtype,
                                                                  precision):
  """With fewer 64 x 64 tiles than SMs and a long d, the heuristic splits d over a cluster of two
  blocks a tile: its result is bitwise that of the forced split (mma:64:2: 3xTF32 for float32 at
  HIGHEST since session 22, TF32 at DEFAULT, bfloat16 at any precision), the same on every run
  (part 0 adds part 1's partial sums to its own, in that order), within the dtype's error, and
  for float32 not bitwise that of the unsplit kernel (the sums round differently). The SIMT
  tile's split (tile:64:2, the same exchange) is checked for determinism too. bfloat16 here
  (d = 600 on 64 tiles) takes the wgmma tile instead where it runs (session 25's rule)."""
  m, k, d = 512, 512, 600  # 64 tiles; d not a multiple of the slices
  indptr, indices = scrambled_pattern(rng, m, k, 0.3)
  A = jsdl.CSR.from_parts(jnp.ones(indices.shape, dtype), indptr, indices, (m, k))
  q, q64 = rand_dense(rng, (m, d), dtype)
  kk, k64 = rand_dense(rng, (k, d), dtype)
  fn = lambda q, kk, A: jsdl.sddmm(q, kk, A, precision=precision).values  # noqa: E731
  kernel = "mma:64"
  results = {}
  for variant in (None, f"{kernel}:2", kernel):
    if variant is None:
      monkeypatch.delenv("JSDL_SDDMM_VARIANT", raising=False)
    else:
      monkeypatch.setenv("JSDL_SDDMM_VARIANT", variant)
    results[variant] = np.asarray(run_fresh(fn, q, kk, A))
  monkeypatch.setenv("JSDL_SDDMM_VARIANT", f"{kernel}:2")
  again = np.asarray(run_fresh(fn, q, kk, A))
  np.testing.assert_array_equal(again, results[f"{kernel}:2"])
  if dtype == jnp.float32 and precision == "highest":
    monkeypatch.setenv("JSDL_SDDMM_VARIANT", "tile:64:2")
    simt = [np.asarray(run_fresh(fn, q, kk, A)) for _ in range(2)]
    np.testing.assert_array_equal(simt[0], simt[1])
    assert rel_err(simt[0], _sddmm_reference(q64, k64, indptr, indices)) < 1e-5
  if getattr(jax.devices()[0], "core_count", 132) > 64:  # SMs (H100 / H200: 132) > tiles
    # bfloat16 on 64 tiles from d = 512 takes the wgmma tile where it runs (session 25).
    chosen = "wgmma" if dtype == jnp.bfloat16 and wgmma_runs() else f"{kernel}:2"
    if chosen not in results:
      monkeypatch.setenv("JSDL_SDDMM_VARIANT", chosen)
      results[chosen] = np.asarray(run_fresh(fn, q, kk, A))
    np.testing.assert_array_equal(results[None], results[chosen])
  if dtype == jnp.float32:
    assert not np.array_equal(results[f"{kernel}:2"], results[kernel])
  ref = _sddmm_reference(q64, k64, indptr, indices)
  if dtype == jnp.float32:
    err = rel_err(results[f"{kernel}:2"], ref)
    assert err < (1e-5 if precision == "highest" else TF32_TOL), err
  else:
    assert_close(results[f"{kernel}:2"], ref, dtype)


@pytest.mark.parametrize("precision, dtype", [("default", jnp.float32), ("highest", jnp.float32),
                                              ("default", jnp.bfloat16)])
def test_sddmm_wgmma_runs_where_built(rng, monkeypatch, precision, dtype):
  """The wgmma tile really runs on a 9.0 device of a build with sm_90a: its results differ
  bitwise from mma:64's (TF32 truncated where mma.sync's tile rounds; other sums' orders), both
  within tolerance; elsewhere the variant falls back to the heuristic's choice, bitwise. Two
  batch items of lhs over one rhs (the tensor map's rows past an item's m are the next
  item's), 130 x 200 (partial tiles), d = 1000 (a partial last slice)."""
  m, k, d = 130, 200, 1000
  indptr, indices = scrambled_pattern(rng, m, k, 0.3)
  A = jsdl.CSR.from_parts(jnp.ones(indices.shape, dtype), indptr, indices, (m, k))
  q, q64 = rand_dense(rng, (2, m, d), dtype)
  kk, k64 = rand_dense(rng, (k, d), dtype)
  ref = _sddmm_reference(q64, k64, indptr, indices)

  def run(variant):
    return run_sddmm_variant(monkeypatch, variant, precision, q, kk, A)

  wgmma, mma = run("wgmma"), run("mma:64")
  tf32 = precision == "default" and dtype == jnp.float32
  for out, name in ((wgmma, "wgmma"), (mma, "mma:64")):
    if tf32:
      assert rel_err(out, ref) < TF32_TOL, name
    else:
      assert_close(out, ref, dtype, what=name)
  if wgmma_runs():
    assert not np.array_equal(wgmma, mma)
  else:
    np.testing.assert_array_equal(wgmma, run(None))
