"""The CPU module's kernels (cuda/*/…_cpu.cc): they are what the CPU runs, so the rest of the
suite checks their numbers on CPU; here what is theirs alone: that the CPU lowering calls them,
that they round 16-bit outputs as numpy does, that they agree with the pure-JAX reference, and
that an invalid pattern is an error instead of a read out of bounds."""
import contextlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jax_sparse_dl as jsdl
from jax_sparse_dl import lowering
from jax_sparse_dl.csr import CSR, Sparsity

from conftest import assert_close, f64, rand_dense, rand_values

pytestmark = pytest.mark.skipif(not jsdl.has_cpu_kernels() or jax.default_backend() != "cpu",
                                reason="the CPU module is not built, or JAX runs on another "
                                "backend")


@contextlib.contextmanager
def _lowered_through(kernels: bool):
  """Lowers on CPU through the kernels (True) or the pure-JAX reference (False)."""
  old = lowering.cpu_kernels
  lowering.cpu_kernels = kernels
  jax.clear_caches()  # jit caches lowerings: recompile under the setting
  try:
    yield kernels
  finally:
    lowering.cpu_kernels = old
    jax.clear_caches()


@pytest.fixture
def cpu_kernels(request):
  with _lowered_through(request.param) as kernels:
    yield kernels


def _ops(A, x, q, kk):
  return {"spmm": lambda: jsdl.spmm(A, x),
          "sddmm": lambda: jsdl.sddmm(q, kk, A).values,
          "csr_softmax": lambda: jsdl.csr_softmax(A).values}


@pytest.mark.parametrize("cpu_kernels", [True, False], indirect=True)
def test_cpu_lowering_calls_the_kernels(cpu_kernels):
  A = jsdl.random_csr(jax.random.key(0), (33, 17), 0.8)
  x, q, kk = jnp.ones((17, 5)), jnp.ones((33, 4)), jnp.ones((17, 4))
  for name, op in _ops(A, x, q, kk).items():
    hlo = jax.jit(op).lower().as_text()
    assert (f"stablehlo.custom_call @jsdl_{name}(" in hlo) == cpu_kernels, name


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_16_bit_outputs_round_as_numpy(dtype, vector_loops):
  # Every finite 16-bit value v times 1 + one unit in the last place: the float32 product is
  # exact, so the kernel's output must be numpy's rounding of it, bit for bit (overflow to inf
  # included), in each copy of the loops. Once with v as A's values (widened one by one as they
  # are read; 3 output columns, rounded one by one), once with v as the dense operand's one row
  # (widened in vectors and one by one, and the output rounded likewise). Left out:
  # products below float32's normal range, which XLA's CPU threads flush to zero (FTZ/DAZ, as
  # for XLA's own ops): bfloat16's subnormals.
  np_dtype = jnp.dtype(dtype)
  bits = np.arange(1 << 16, dtype=np.uint16)
  v = bits.view(np_dtype)
  magnitude = np.abs(v.astype(np.float32))
  v = v[np.isfinite(magnitude) & ((magnitude == 0) | (magnitude >= np.finfo(np.float32).tiny))]
  scale = 1 + float(np.finfo(np_dtype).eps)
  m = v.size
  values_v = CSR.from_parts(jnp.asarray(v), np.arange(m + 1, dtype=np.int32),
                            np.zeros(m, np.int32), (m, 1))
  y_values = np.asarray(jsdl.spmm(values_v, jnp.full((1, 3), scale, np_dtype)))
  one_entry = CSR.from_parts(jnp.full((1,), scale, np_dtype), np.array([0, 1], np.int32),
                             np.zeros(1, np.int32), (1, 1))
  y_dense = np.asarray(jsdl.spmm(one_entry, jnp.asarray(v)[None, :]))
  with np.errstate(over="ignore"):
    expected = (v.astype(np.float32) * np.float32(scale)).astype(np_dtype)
  for name, y in (("A's values", y_values), ("dense row", y_dense.T)):
    same = (y == expected[:, None]) | (np.isnan(y.astype(np.float32))
                                       & np.isnan(expected.astype(np.float32))[:, None])
    assert same.all(), (vector_loops, name, v[~same.all(axis=1)][:8])


@pytest.mark.parametrize("dtype", ["float32", "bfloat16", "float16"])
def test_kernels_and_reference_agree(rng, dtype):
  # Odd sizes, empty rows, a column count that is no multiple of the kernels' column blocks,
  # broadcast batches, bias and relu.
  m, k, n, d = 45, 29, 37, 19
  mask = rng.random((m, k)) < 0.3
  mask[::5] = False
  dense_w = np.where(mask, 1.0, 0.0)
  A = CSR.fromdense(jnp.asarray(dense_w, dtype))
  values, values64 = rand_values(rng, (2, 1, A.nnz), dtype)
  x, x64 = rand_dense(rng, (3, k, n), dtype)
  bias, bias64 = rand_dense(rng, (m,), dtype)
  q, q64 = rand_dense(rng, (2, 1, m, d), dtype)
  kk, kk64 = rand_dense(rng, (3, k, d), dtype)
  rows, cols = np.nonzero(mask)
  w64 = np.zeros((2, 1, m, k))
  w64[..., rows, cols] = values64
  spmm_ref = np.maximum(w64 @ x64 + bias64[:, None], 0)
  sddmm_ref = (q64 @ np.swapaxes(kk64, -1, -2))[..., rows, cols]
  results = {}
  for use_kernels in (True, False):
    with _lowered_through(use_kernels):
      results[use_kernels] = (
          jax.jit(lambda B, x, b: jsdl.spmm(B, x, bias=b, relu=True))(
              A.with_values(values), x, bias),
          jax.jit(lambda q, kk: jsdl.sddmm(q, kk, A).values)(q, kk))
  for use_kernels, (y, s) in results.items():
    assert_close(y, spmm_ref, dtype, what=f"spmm kernels={use_kernels}")
    assert_close(s, sddmm_ref, dtype, what=f"sddmm kernels={use_kernels}")
  assert np.abs(f64(results[True][0]) - f64(results[False][0])).max() <= (
      4 * float(jnp.finfo(dtype).eps) * np.abs(spmm_ref).max())


def _with(A, field, array):
  """A copy of A whose pattern has `array` as `field` (nothing else rebuilt)."""
  arrays = list(A.sparsity.arrays)
  arrays[("row_offsets", "column_indices").index(field)] = jnp.asarray(array, jnp.int32)
  return CSR(A.values, Sparsity(*arrays, shape=A.shape))


@pytest.mark.parametrize("op", ["spmm", "sddmm", "csr_softmax"])
@pytest.mark.parametrize("broken", ["column past k", "negative column", "offsets decrease",
                                    "offsets end before nnz"])
def test_invalid_patterns_are_errors(op, broken):
  A = jsdl.random_csr(jax.random.key(1), (12, 10), 0.5)
  offsets, cols = np.asarray(A.row_offsets).copy(), np.asarray(A.column_indices).copy()
  if op == "csr_softmax" and "column" in broken:
    pytest.skip("csr_softmax reads no column index")
  if broken == "column past k":
    cols[A.nnz // 2] = 10
    bad = _with(A, "column_indices", cols)
  elif broken == "negative column":
    cols[-1] = -1
    bad = _with(A, "column_indices", cols)
  elif broken == "offsets decrease":
    offsets[6] = offsets[5] - 1
    bad = _with(A, "row_offsets", offsets)
  else:
    offsets[-1] -= 1
    bad = _with(A, "row_offsets", offsets)
  x, q, kk = jnp.ones((10, 3)), jnp.ones((12, 4)), jnp.ones((10, 4))
  with pytest.raises(Exception, match=f"jsdl_{op}: invalid sparsity pattern"):
    jax.block_until_ready(_ops(bad, x, q, kk)[op]())


@pytest.fixture(params=["portable", "avx2", "avx512"])
def vector_loops(request):
  """The float32 loops in 16-byte vectors (every CPU), or their copies built for AVX2 and FMA or
  for AVX-512 (where the CPU has them: then the handlers take the widest unless told otherwise)."""
  from jax_sparse_dl import _jsdl_cpu
  if request.param not in _jsdl_cpu.vector_loops():
    pytest.skip(f"this CPU does not run the {request.param} loops")
  old = _jsdl_cpu.use_vector_loops(request.param)
  yield request.param
  _jsdl_cpu.use_vector_loops(old)


def test_vector_loops_by_name():
  from jax_sparse_dl import _jsdl_cpu
  names = _jsdl_cpu.vector_loops()
  assert names[0] == "portable" and set(names) <= {"portable", "avx2", "avx512"}
  with pytest.raises(ValueError, match="no float32 loops 'sse9'"):
    _jsdl_cpu.use_vector_loops("sse9")
  assert _jsdl_cpu.used_vector_loops() == names[-1]  # the widest, unless told otherwise
  assert _jsdl_cpu.use_vector_loops(names[0]) == names[-1]
  assert _jsdl_cpu.used_vector_loops() == names[0]
  assert _jsdl_cpu.use_vector_loops(names[-1]) == names[0]


@pytest.mark.parametrize("dtype", ["float32", "bfloat16", "float16"])
def test_vector_loops(rng, vector_loops, dtype):
  # SpMM: a row goes in blocks of 8 vectors, then one block of the 1-8 vectors left whose last
  # vector ends at n (overlapping the one before when n is not a multiple of the lanes); rows
  # narrower than a vector take narrower vectors, and under 4 columns scalar sums. The n below
  # give every count of vectors left, whole and partial, after 0, 1 and several full blocks, in
  # every copy (16 lanes for AVX-512, 8 for AVX2, 4 portable), and the narrower and scalar rows.
  # bfloat16's full blocks (n >= 128 for AVX-512, 64 for AVX2) read pairs of vectors split into
  # even and odd lanes, and merge them again as they are stored.
  # SDDMM (d): two steps of 32 (AVX-512; AVX2: four of 16, portable: eight of 8), a 4-wide step
  # and a rest. Bias, relu and a row without entries. 16-bit operands are widened in those
  # vectors as they are read, and results rounded.
  m, k, d = 21, 50, 2 * 32 + 4 + 3
  mask = rng.random((m, k)) < 0.4
  mask[3] = False
  A = CSR.fromdense(jnp.asarray(np.where(mask, rng.standard_normal((m, k)), 0.0), dtype))
  bias, bias64 = rand_dense(rng, (m,), dtype)
  q, q64 = rand_dense(rng, (m, d), dtype)
  kk, kk64 = rand_dense(rng, (k, d), dtype)
  w64 = f64(A.todense())
  for n in (3, 4, 7, 12, 16, 17, 33, 45, 49, 54, 64, 72, 90, 100, 129, 383):
    x, x64 = rand_dense(rng, (k, n), dtype)
    what = f"{vector_loops} {dtype} n={n}"
    y = jsdl.spmm(A, x, bias=bias, relu=True)
    assert_close(y, np.maximum(w64 @ x64 + bias64[:, None], 0), dtype, what=what)
  what = f"{vector_loops} {dtype}"
  rows, cols = np.nonzero(mask)
  s = jsdl.sddmm(q, kk, A).values
  assert_close(s, (q64 @ kk64.T)[rows, cols], dtype, what=what)


@pytest.mark.parametrize("dtype", ["float32", "bfloat16", "float16"])
def test_softmax_vector_loops(rng, vector_loops, dtype):
  # Rows of 0 to 40 entries (vectors of 16, 8 or 4 lanes and a rest; a row shorter than a vector
  # is read in one that ends where it ends, the lanes before it masked, except in the first
  # rows), values spread over [-100, 20]: the exponentials span float32's range and underflow.
  # The vector exp keeps float32 precision (a few ulp against float64), and NaN and -inf behave
  # as in the pure-JAX lowering: a row with a NaN or of -inf only is NaN, a -inf entry among
  # finite ones gets 0. Row 43 (5 entries) follows row 42's NaN, which its vector reads; rows
  # 45-47 (3, 2 and 1 entries, below -90) follow entries of 20, which would swamp them.
  # 16-bit values are widened exactly; their outputs are rounded once more.
  m = 48
  lengths = np.array([*range(41), 20, 20, 5, 20, 3, 2, 1])
  offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
  columns = np.concatenate([np.arange(n) for n in lengths]).astype(np.int32)
  values = np.array(jnp.asarray(rng.uniform(-100, 20, offsets[-1]), dtype), np.float32)
  values[offsets[41]:offsets[42]] = -np.inf          # row 41: -inf only
  values[offsets[43] - 1] = np.nan                   # row 42: one NaN, its last entry
  values[offsets[44]:offsets[44] + 3] = -np.inf      # row 44: three -inf among finite values
  values[offsets[45] - 3:offsets[45]] = 20           # row 44's last three
  values[offsets[45]:] = np.array(jnp.asarray(rng.uniform(-100, -90, 6), dtype), np.float32)
  A = CSR.from_parts(jnp.asarray(values, dtype), offsets, columns, (m, 40))
  p = f64(jsdl.csr_softmax(A).values)
  with _lowered_through(False):
    p_reference = f64(jsdl.csr_softmax(A).values)
  np.testing.assert_array_equal(np.isnan(p), np.isnan(p_reference))
  assert np.isnan(p[offsets[41]:offsets[43]]).all()
  expected, rtol = np.zeros(offsets[-1]), np.zeros(offsets[-1])
  for i in [*range(1, 41), *range(43, 48)]:
    row = values[offsets[i]:offsets[i + 1]].astype(np.float64)
    e = np.exp(row - row.max())
    expected[offsets[i]:offsets[i + 1]] = e / e.sum()
    # float32's x - max is off by up to half an ulp of |x - max|, and exp turns that into a
    # relative error; a few ulp more for exp, the sum and the division.
    rtol[offsets[i]:offsets[i + 1]] = np.where(np.isinf(row), 0,
                                               (np.abs(row - row.max()) / 2 + 8) * 2.0**-23)
  ulp, floor = {"float32": (0.0, 2e-38), "bfloat16": (2.0**-8, 2e-38),
                "float16": (2.0**-11, 2.0**-25)}[dtype]
  finite = ~np.isnan(p)
  error = np.abs(p[finite] - expected[finite])
  bad = error > (rtol[finite] + ulp) * expected[finite] + floor
  assert not bad.any(), (vector_loops, dtype, p[finite][bad][:5], expected[finite][bad][:5])



@pytest.mark.parametrize("dtype", ["float32", "bfloat16", "float16"])
def test_softmax_grad_vector_loops(rng, vector_loops, dtype):
  # The backward's kernel, out = probs * (grad - rowsum(probs * grad)), in vectors of 16, 8 or 4
  # lanes and a rest: rows of 0 to 40 entries take every split. Checked entry by entry against
  # float64 from the same probs and grad: the float32 dot is off by at most about count ulp of
  # rowsum(|probs * grad|); 16-bit outputs are rounded once more. A kernel that dropped or
  # doubled any lane of a tail would miss its row's bound.
  lengths = np.array([*range(41), 37, 64])
  m = lengths.size
  offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
  columns = np.concatenate([np.arange(n) for n in lengths]).astype(np.int32)
  nnz = int(offsets[-1])
  values, _ = rand_dense(rng, (nnz,), dtype)
  grad, g64 = rand_dense(rng, (nnz,), dtype)
  A = CSR.from_parts(values, offsets, columns, (m, 64))
  probs, vjp = jax.vjp(lambda v: jsdl.csr_softmax(A.with_values(v)).values, values)
  (out,) = vjp(grad)
  assert "jsdl_csr_softmax_grad" in jax.jit(vjp).lower(grad).as_text()
  p64 = f64(probs)
  row = np.repeat(np.arange(m), lengths)
  dot = np.bincount(row, p64 * g64, minlength=m)
  scale = np.bincount(row, np.abs(p64 * g64), minlength=m)
  expected = p64 * (g64 - dot[row])
  # The output's rounding: half an ulp, relative, and at least half float16's subnormal step.
  ulp, floor = {"float32": (0.0, 1e-30), "bfloat16": (2.0**-8, 1e-30),
                "float16": (2.0**-11, 2.0**-25)}[dtype]
  bound = (np.abs(p64) * (np.abs(g64) + scale[row]) * (lengths[row] + 4) * 2.0**-23
           + np.abs(expected) * ulp + floor)
  error = np.abs(f64(out) - expected)
  assert out.dtype == jnp.dtype(dtype)
  bad = error > bound
  assert not bad.any(), (vector_loops, dtype, row[bad][:5], error[bad][:5], bound[bad][:5])
