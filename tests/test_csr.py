"""The CSR container: constructors, conversions, transpose, pytree behaviour, validate()."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.sparse as sp
from jax.experimental import sparse as jsparse

import jax_sparse_dl as jsdl
from conftest import (
    assert_close,
    dense_from_entries,
    entry_rows,
    f64,
    make_problem,
    rand_dense,
    rand_values,
    random_pattern,
    rounded,
    x64,
)

def np_i(a):
    return np.asarray(a).astype(np.int64)


def masked_dense(rng, m, k, dtype, batch=(), **kw):
    """Random dense matrix whose nonzeros follow a random pattern: (jax, float64, mask)."""
    pat = random_pattern(rng, m, k, 0.3, **kw)
    mask = pat.toarray() != 0
    vals, v64 = rand_values(rng, tuple(batch) + (m, k), dtype)
    w64 = np.where(mask, v64, 0.0)
    w, w64 = rounded(w64, dtype)
    return w, w64, mask


def check_entries_match(A, dense64, batch=()):
    """Rebuild the dense matrix from A's raw arrays (independently of A.todense)."""
    m, k = A.shape
    ro = np_i(A.row_offsets)
    ci = np_i(A.column_indices)
    assert ro.shape == (m + 1,)
    assert ci.shape == (A.nnz,)
    assert ro[0] == 0 and ro[-1] == A.nnz
    assert np.all(np.diff(ro) >= 0)
    assert np.all((ci >= 0) & (ci < k))
    vals = f64(A.values)
    assert vals.shape == tuple(batch) + (A.nnz,)
    np.testing.assert_array_equal(dense_from_entries(vals, ro, ci, m, k), dense64)


def check_index_dtypes(A):
    for name in ("row_offsets", "column_indices", "row_indices"):
        assert jnp.asarray(getattr(A, name)).dtype == jnp.int32, name


def check_row_order(row_offsets, row_indices):
    """row_indices is a permutation of 0..m-1 with rows by decreasing length, up to buckets of
    lengths within 1/8 of each other, and rows of equal length in their natural order."""
    ro = np_i(row_offsets)
    ri = np_i(row_indices)
    m = ro.shape[0] - 1
    assert ri.shape == (m,)
    np.testing.assert_array_equal(np.sort(ri), np.arange(m))
    lengths = np.diff(ro)[ri]
    shortest_so_far = np.minimum.accumulate(lengths)
    assert np.all(lengths[1:] <= shortest_so_far[:-1] * 9 / 8), \
        f"row lengths in row_indices order not decreasing: {lengths}"
    short = lengths[1:] < 16
    assert np.all(lengths[1:][short] <= shortest_so_far[:-1][short]), \
        f"rows shorter than 16 not sorted exactly: {lengths}"
    for length in np.unique(lengths):
        rows = ri[lengths == length]
        assert np.all(np.diff(rows) > 0), f"rows of length {length} out of natural order: {rows}"


def check_sparsity(A):
    """Internal consistency of the eight pattern arrays (numpy, independent of the package)."""
    s = A.sparsity
    assert isinstance(s, jsdl.Sparsity)
    m, k = A.shape
    nnz = A.nnz
    shapes = {
        "row_offsets": (m + 1,),
        "column_indices": (nnz,),
        "row_indices": (m,),
        "t_row_offsets": (k + 1,),
        "t_column_indices": (nnz,),
        "t_row_indices": (k,),
        "to_t": (nnz,),
        "from_t": (nnz,),
        "tile_entries": (nnz,),
        "t_tile_entries": (nnz,),
        "tile_offsets": (jsdl.csr.tile_count((m, k)) + 1,),
        "t_tile_offsets": (jsdl.csr.tile_count((k, m)) + 1,),
        "entry_rows": (nnz,),
        "t_entry_rows": (nnz,),
    }
    for name, shape in shapes.items():
        arr = jnp.asarray(getattr(s, name))
        assert arr.shape == shape, (name, arr.shape, shape)
        assert arr.dtype == jnp.int32, (name, arr.dtype)
    to_t, from_t = np_i(s.to_t), np_i(s.from_t)
    np.testing.assert_array_equal(np.sort(to_t), np.arange(nnz))
    np.testing.assert_array_equal(to_t[from_t], np.arange(nnz))
    np.testing.assert_array_equal(from_t[to_t], np.arange(nnz))
    rows = entry_rows(np_i(s.row_offsets))
    cols = np_i(s.column_indices)
    # the transpose: row j of A^T holds the entries of column j of A, and its columns are rows
    t_rows = entry_rows(np_i(s.t_row_offsets))
    np.testing.assert_array_equal(t_rows, cols[to_t])
    np.testing.assert_array_equal(np_i(s.t_column_indices), rows[to_t])
    check_row_order(s.row_offsets, s.row_indices)
    check_row_order(s.t_row_offsets, s.t_row_indices)
    check_tile_index(s.tile_offsets, s.tile_entries, rows, cols, k)
    check_tile_index(s.t_tile_offsets, s.t_tile_entries, t_rows, rows[to_t], m)
    np.testing.assert_array_equal(np_i(s.entry_rows), rows)
    np.testing.assert_array_equal(np_i(s.t_entry_rows), t_rows)


def check_tile_index(offsets, entries, rows, cols, k, edge=64):
    """Tile t's list holds exactly the entries in tile t (row-major tiles of edge x edge), in
    CSR order."""
    offsets, entries = np_i(offsets), np_i(entries)
    per_row = -(-k // edge)
    key = rows // edge * per_row + cols // edge
    np.testing.assert_array_equal(np.sort(entries), np.arange(len(rows)))
    for t in range(len(offsets) - 1):
        mine = entries[offsets[t]:offsets[t + 1]]
        np.testing.assert_array_equal(mine, np.flatnonzero(key == t))


def test_tile_index_is_left_empty_for_many_tiles():
    """More tiles than max(nnz, 2^16): no index (the offsets would outweigh the pattern)."""
    A = jsdl.CSR.from_parts(np.ones(3, np.float32), np.array([0, 1, 2] + [3] * 99998, np.int32),
                            np.array([5, 99999, 0], np.int32), (100000, 100000))
    assert A.sparsity.tile_offsets.shape == (0,) and A.sparsity.tile_entries.shape == (0,)
    assert A.sparsity.T.tile_offsets.shape == (0,)


# ----------------------------------------------------------------------------- fromdense

def _fromdense_roundtrip(rng, dtype, m, k):
    w, w64, mask = masked_dense(rng, m, k, dtype, empty_rows=m // 3, spread=m > 3)
    A = jsdl.CSR.fromdense(w)
    assert isinstance(A, jsdl.CSR)
    assert A.shape == (m, k) and all(type(d) is int for d in A.shape)
    assert int(A.nnz) == int(mask.sum())
    assert A.dtype == dtype and A.values.dtype == dtype
    assert A.batch_shape == ()
    check_index_dtypes(A)
    check_entries_match(A, w64)
    np.testing.assert_array_equal(f64(A.todense()), w64)
    np.testing.assert_array_equal(np.diff(np_i(A.row_offsets)), mask.sum(1))
    check_sparsity(A)


@pytest.mark.parametrize("m,k", [(3, 7), (33, 65)])
def test_fromdense_roundtrip_dtypes(rng, dtype, m, k):
    _fromdense_roundtrip(rng, dtype, m, k)


@pytest.mark.parametrize("m,k", [(1, 1), (7, 3), (1, 65), (65, 1)])
def test_fromdense_roundtrip_shapes(rng, m, k):
    _fromdense_roundtrip(rng, jnp.float32, m, k)


def test_fromdense_batched_union_pattern(rng):
    m, k = 7, 9
    masks = [random_pattern(rng, m, k, 0.25).toarray() != 0 for _ in range(6)]
    v, v64 = rand_values(rng, (2, 3, m, k), jnp.float32)
    w64 = v64 * np.stack(masks).reshape(2, 3, m, k)
    w = jnp.asarray(w64, jnp.float32)
    union = np.any(w64 != 0, axis=(0, 1))
    assert not np.all(union == (w64[0, 0] != 0)), "members should have different patterns"
    A = jsdl.CSR.fromdense(w)
    assert A.shape == (m, k)
    assert A.batch_shape == (2, 3)
    assert A.values.shape == (2, 3, int(union.sum()))
    assert int(A.nnz) == int(union.sum())
    np.testing.assert_array_equal(f64(A.todense()), w64)
    check_entries_match(A, w64, batch=(2, 3))
    check_sparsity(A)


@pytest.mark.parametrize("extra", [0, 5])
@pytest.mark.parametrize("batch", [(), (2,)])
def test_fromdense_under_jit(rng, extra, batch):
    m, k, n = 6, 11, 3
    w, w64, mask = masked_dense(rng, m, k, jnp.float32, batch=batch, empty_rows=2)
    count = int(mask.sum())
    nnz = count + extra
    A = jax.jit(lambda w: jsdl.CSR.fromdense(w, nnz=nnz))(w)
    assert isinstance(A, jsdl.CSR)
    assert A.shape == (m, k)
    assert int(A.nnz) == nnz
    assert A.values.shape == batch + (nnz,)
    np.testing.assert_array_equal(f64(A.todense()), w64)
    check_entries_match(A, w64, batch=batch)
    np.testing.assert_array_equal(f64(A.T.todense()), np.swapaxes(w64, -1, -2))
    # the padded matrix still multiplies correctly
    x, x64_ = rand_dense(rng, (k, n), jnp.float32)
    assert_close(jsdl.spmm(A, x), w64 @ x64_, jnp.float32, what="spmm(fromdense under jit)")
    # the same function traced inside a larger jitted computation
    y = jax.jit(lambda w, x: jsdl.spmm(jsdl.CSR.fromdense(w, nnz=nnz), x))(w, x)
    assert_close(y, w64 @ x64_, jnp.float32, what="jit(fromdense + spmm)")


def test_fromdense_under_jit_no_zeros(rng):
    """A matrix without zeros: any padding entry duplicates a real position, so padded values
    must be exact zeros for todense / spmm to stay right."""
    m, k = 4, 3
    w, w64 = rand_values(rng, (m, k), jnp.float32)
    A = jax.jit(lambda w: jsdl.CSR.fromdense(w, nnz=m * k + 3))(w)
    assert int(A.nnz) == m * k + 3
    np.testing.assert_array_equal(f64(A.todense()), w64)
    x, x64_ = rand_dense(rng, (k, 2), jnp.float32)
    assert_close(jsdl.spmm(A, x), w64 @ x64_, jnp.float32)
    assert_close(jsdl.csr_softmax(A).todense().sum(-1), np.ones(m), jnp.float32, factor=10)


# ----------------------------------------------------------------------------- scipy

@pytest.mark.parametrize("fmt", ["csr_array", "csr_matrix", "coo_array", "csc_array", "lil_array"])
def test_from_scipy_formats(rng, fmt):
    m, k = 13, 7
    pat = random_pattern(rng, m, k, 0.4, empty_rows=3)
    w64 = pat.toarray() * rng.uniform(0.5, 1.5, (m, k)) * np.sign(rng.standard_normal((m, k)))
    w64 = w64.astype(np.float32).astype(np.float64)
    smat = getattr(sp, fmt)(w64.astype(np.float32))
    A = jsdl.CSR.from_scipy(smat)
    assert A.shape == (m, k)
    assert A.dtype == jnp.float32
    assert int(A.nnz) == int((w64 != 0).sum())
    check_index_dtypes(A)
    np.testing.assert_array_equal(f64(A.todense()), w64)
    check_entries_match(A, w64)
    check_sparsity(A)
    A.validate()


def test_from_scipy_coo_duplicates_unsorted(rng):
    m, k, n = 9, 8, 5
    nent = 40
    r = rng.integers(0, m - 2, nent)  # last two rows stay empty
    c = rng.integers(0, k, nent)
    r = np.concatenate([r, r[:6]])  # guaranteed duplicates
    c = np.concatenate([c, c[:6]])
    perm = rng.permutation(r.shape[0])
    r, c = r[perm], c[perm]
    data = rng.uniform(0.5, 1.5, r.shape[0]).astype(np.float32)
    coo = sp.coo_array((data, (r, c)), shape=(m, k))
    ref = coo.toarray().astype(np.float64)  # scipy sums duplicates
    A = jsdl.CSR.from_scipy(coo)
    assert A.shape == (m, k)
    assert_close(A.todense(), ref, jnp.float32, what="todense")
    A.validate()
    x, x64_ = rand_dense(rng, (k, n), jnp.float32)
    assert_close(jsdl.spmm(A, x), ref @ x64_, jnp.float32, what="spmm")
    assert_close(A.T.todense(), ref.T, jnp.float32, what="A.T.todense")


def test_from_scipy_csr_unsorted_duplicates(rng):
    m, k, n = 4, 6, 3
    # row 0: unsorted columns; row 1: duplicate column 2; row 2 empty; row 3: unsorted + duplicate
    indptr = np.array([0, 3, 6, 6, 10])
    indices = np.array([5, 0, 3, 2, 4, 2, 4, 1, 4, 0])
    data = rng.uniform(0.5, 1.5, indices.shape[0]).astype(np.float32)
    mat = sp.csr_array((data, indices, indptr), shape=(m, k))
    indices_before = mat.indices.copy()
    assert not mat.has_canonical_format
    ref = mat.toarray().astype(np.float64)
    A = jsdl.CSR.from_scipy(mat)
    assert A.shape == (m, k)
    assert_close(A.todense(), ref, jnp.float32, what="todense")
    A.validate()
    x, x64_ = rand_dense(rng, (k, n), jnp.float32)
    assert_close(A @ x, ref @ x64_, jnp.float32, what="A @ x")
    assert_close(A.to_scipy().toarray(), ref, jnp.float32, what="to_scipy")
    # the caller's matrix is left as it was
    np.testing.assert_array_equal(mat.indices, indices_before)
    assert not mat.has_canonical_format


def test_from_scipy_keeps_float64_and_int32_indices(rng):
    with x64():
        pat = random_pattern(rng, 5, 6, 0.5)
        mat = pat.multiply(rng.standard_normal((5, 6)) + 3.0).tocsr()
        A = jsdl.CSR.from_scipy(mat)
        assert A.dtype == jnp.float64
        check_index_dtypes(A)
        check_sparsity(A)
        np.testing.assert_array_equal(np.asarray(A.todense()), mat.toarray())


# ----------------------------------------------------------------------------- BCSR

def test_from_bcsr(rng):
    m, k = 10, 13
    w, w64, mask = masked_dense(rng, m, k, jnp.float32, empty_rows=3)
    b = jsparse.BCSR.fromdense(w)
    A = jsdl.CSR.from_bcsr(b)
    assert A.shape == (m, k)
    assert int(A.nnz) == int(mask.sum())
    np.testing.assert_array_equal(f64(A.todense()), w64)
    check_entries_match(A, w64)
    check_sparsity(A)


def test_from_bcsr_padded_nse(rng):
    m, k, n = 10, 13, 4
    w, w64, mask = masked_dense(rng, m, k, jnp.float32, empty_rows=3)
    nse = int(mask.sum()) + 7
    b = jsparse.BCSR.fromdense(w, nse=nse)
    assert b.nse == nse
    A = jsdl.CSR.from_bcsr(b)
    assert A.shape == (m, k)
    assert int(A.nnz) in (int(mask.sum()), nse)
    np.testing.assert_array_equal(f64(A.todense()), w64)
    np.testing.assert_array_equal(f64(A.T.todense()), w64.T)
    A.validate()
    x, x64_ = rand_dense(rng, (k, n), jnp.float32)
    assert_close(jsdl.spmm(A, x), w64 @ x64_, jnp.float32)


def test_from_bcsr_batched_shared_pattern(rng):
    m, k = 6, 5
    mask = random_pattern(rng, m, k, 0.4).toarray() != 0
    v, v64 = rand_values(rng, (3, m, k), jnp.float32)
    w64 = v64 * mask
    w = jnp.asarray(w64, jnp.float32)
    b = jsparse.BCSR.fromdense(w, n_batch=1)
    A = jsdl.CSR.from_bcsr(b)
    assert A.shape == (m, k)
    assert A.batch_shape == (3,)
    assert A.values.shape == (3, int(mask.sum()))
    np.testing.assert_array_equal(f64(A.todense()), w64)


@pytest.mark.parametrize("batch", [(), (2,)])
def test_to_bcsr_roundtrip(rng, batch):
    p = make_problem(rng, 7, 9, jnp.float32, batch=batch, empty_rows=2)
    b = p.A.to_bcsr()
    assert isinstance(b, jsparse.BCSR)
    assert tuple(b.shape) == batch + (7, 9)
    np.testing.assert_array_equal(f64(b.todense()), p.W64)
    A2 = jsdl.CSR.from_bcsr(b)
    np.testing.assert_array_equal(f64(A2.todense()), p.W64)


# ----------------------------------------------------------------------------- from_parts / scipy out

@pytest.mark.parametrize("m,k,kw", [
    (7, 5, dict(spread=True)),
    (33, 65, dict(empty_rows=10)),
    (5, 4, dict(nnz_zero=True)),
    (1, 9, {}),
    (9, 1, {}),
])
def test_from_parts(rng, m, k, kw):
    p = make_problem(rng, m, k, jnp.float32, **kw)
    A = p.A
    assert A.shape == (m, k)
    assert int(A.nnz) == p.nnz
    np.testing.assert_array_equal(np_i(A.row_offsets), p.indptr)
    np.testing.assert_array_equal(np_i(A.column_indices), p.indices)
    np.testing.assert_array_equal(f64(A.values), p.v64)
    check_index_dtypes(A)
    check_sparsity(A)
    np.testing.assert_array_equal(f64(A.todense()), p.W64)
    assert A.validate() is A


@pytest.mark.parametrize("m, k", [(0, 5), (4, 0)])
def test_from_parts_entries_without_rows_or_columns(m, k):
    """An entry needs a row and a column: an empty side with column indices is a shape error."""
    with pytest.raises(ValueError, match=f"a {m} x {k} pattern holds no entries, got 2"):
        jsdl.CSR.from_parts(jnp.ones(2), np.full(m + 1, 0, np.int32), np.zeros(2, np.int32),
                            (m, k))
    A = jsdl.CSR.from_parts(jnp.ones(0), np.zeros(m + 1, np.int32), np.zeros(0, np.int32), (m, k))
    assert A.nnz == 0


@pytest.mark.parametrize("m,k,kw", [(8, 6, dict(empty_rows=2)), (4, 3, dict(nnz_zero=True))])
def test_to_scipy_roundtrip(rng, m, k, kw):
    p = make_problem(rng, m, k, jnp.float32, **kw)
    s = p.A.to_scipy()
    assert isinstance(s, sp.csr_array)
    assert s.shape == (m, k)
    assert s.nnz == p.nnz
    np.testing.assert_array_equal(s.toarray().astype(np.float64), p.W64)
    A2 = jsdl.CSR.from_scipy(s)
    np.testing.assert_array_equal(f64(A2.todense()), p.W64)
    np.testing.assert_array_equal(np_i(A2.row_offsets), p.indptr)


# ----------------------------------------------------------------------------- transpose

@pytest.mark.parametrize("m,k,batch,kw", [
    (7, 5, (), dict(spread=True)),
    (3, 11, (2,), dict(empty_rows=1)),
    (1, 6, (), {}),
    (6, 1, (), {}),
    (4, 4, (), dict(nnz_zero=True)),
])
def test_transpose(rng, m, k, batch, kw):
    p = make_problem(rng, m, k, jnp.float32, batch=batch, **kw)
    A = p.A
    At = A.T
    assert isinstance(At, jsdl.CSR)
    assert At.shape == (k, m)
    assert At.batch_shape == batch
    assert int(At.nnz) == p.nnz
    Wt = np.swapaxes(p.W64, -1, -2)
    np.testing.assert_array_equal(f64(At.todense()), Wt)
    check_entries_match(At, Wt, batch=batch)
    check_row_order(At.row_offsets, At.row_indices)
    check_row_order(A.row_offsets, A.row_indices)
    np.testing.assert_array_equal(np.diff(np_i(At.row_offsets)), (p.mask).sum(0))
    # values of the transpose are values[..., to_t]
    np.testing.assert_array_equal(f64(At.values), p.v64[..., np_i(A.sparsity.to_t)])
    # A.T.T is A again
    Att = At.T
    assert Att.shape == (m, k)
    np.testing.assert_array_equal(f64(Att.values), f64(A.values))
    np.testing.assert_array_equal(np_i(Att.row_offsets), np_i(A.row_offsets))
    np.testing.assert_array_equal(np_i(Att.column_indices), np_i(A.column_indices))
    np.testing.assert_array_equal(np_i(Att.row_indices), np_i(A.row_indices))
    # Sparsity.T swaps the halves
    s, st = A.sparsity, A.sparsity.T
    for a, b in [("row_offsets", "t_row_offsets"), ("column_indices", "t_column_indices"),
                 ("row_indices", "t_row_indices"), ("to_t", "from_t"),
                 ("tile_offsets", "t_tile_offsets"), ("tile_entries", "t_tile_entries"),
                 ("entry_rows", "t_entry_rows")]:
        np.testing.assert_array_equal(np_i(getattr(st, a)), np_i(getattr(s, b)))
        np.testing.assert_array_equal(np_i(getattr(st, b)), np_i(getattr(s, a)))


def test_row_indices_order_spread(rng):
    # rows with very different lengths: the order must follow the lengths
    lengths = np.array([0, 5, 1, 9, 0, 3, 9, 2])
    k = 10
    indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
    indices = np.concatenate([np.sort(rng.choice(k, L, replace=False)) for L in lengths]).astype(np.int32)
    vals = jnp.asarray(rng.standard_normal(indices.shape[0]) + 5.0, jnp.float32)
    A = jsdl.CSR.from_parts(vals, indptr, indices, (lengths.shape[0], k))
    check_row_order(A.row_offsets, A.row_indices)
    ri = np_i(A.row_indices)
    assert set(ri[:2]) == {3, 6} and set(ri[-2:]) == {0, 4}


def test_row_order_keeps_neighbours_of_similar_length_together():
    # Lengths 96..103 alternate (one bucket): natural order, not sorted by length; rows of
    # 40 and 200 entries sort by length around them.
    lengths = np.array([96 + (i * 5) % 8 for i in range(16)] + [40, 200])
    k = 256
    indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
    indices = np.concatenate([np.arange(L) for L in lengths]).astype(np.int32)
    A = jsdl.CSR.from_parts(jnp.ones(indices.shape, jnp.float32), indptr, indices,
                            (lengths.shape[0], k))
    check_row_order(A.row_offsets, A.row_indices)
    np.testing.assert_array_equal(np_i(A.row_indices), [17] + list(range(16)) + [16])


# ----------------------------------------------------------------------------- random_csr

@pytest.mark.parametrize("shape,sparsity,dtype_name,batch_shape", [
    ((256, 256), 0.9, "float32", ()),
    ((160, 200), 0.99, "float16", (2, 3)),
    ((33, 65), 0.5, "bfloat16", (4,)),
])
def test_random_csr(shape, sparsity, dtype_name, batch_shape):
    dt = jnp.dtype(dtype_name)
    key = jax.random.key(7)
    A = jsdl.random_csr(key, shape, sparsity=sparsity, dtype=dt, batch_shape=batch_shape)
    assert isinstance(A, jsdl.CSR)
    assert A.shape == shape
    assert A.dtype == dt
    assert A.batch_shape == batch_shape
    assert A.values.shape == batch_shape + (A.nnz,)
    check_index_dtypes(A)
    density = A.nnz / (shape[0] * shape[1])
    assert abs(density - (1 - sparsity)) <= 0.1 * (1 - sparsity) + 0.01, density
    vals = f64(A.values)
    assert np.all(np.isfinite(vals))
    assert np.count_nonzero(vals) > 0.9 * vals.size
    A.validate()
    check_sparsity(A)
    # same key: same matrix; other key: another matrix
    B = jsdl.random_csr(key, shape, sparsity=sparsity, dtype=dt, batch_shape=batch_shape)
    np.testing.assert_array_equal(f64(B.todense()), f64(A.todense()))
    C = jsdl.random_csr(jax.random.key(8), shape, sparsity=sparsity, dtype=dt, batch_shape=batch_shape)
    assert not np.array_equal(f64(C.todense()), f64(A.todense()))


def test_random_csr_default_dtype():
    A = jsdl.random_csr(jax.random.key(0), (16, 24))
    assert A.dtype == jnp.float32
    assert A.shape == (16, 24)
    assert 0.0 < A.nnz / (16 * 24) < 0.3


# ----------------------------------------------------------------------------- with_values / pytree

def test_with_values(rng):
    p = make_problem(rng, 9, 7, jnp.float32, empty_rows=2)
    v2, v2_64 = rand_values(rng, (2, p.nnz), jnp.float32)
    B = p.A.with_values(v2)
    assert isinstance(B, jsdl.CSR)
    assert B.shape == p.A.shape and B.batch_shape == (2,)
    np.testing.assert_array_equal(f64(B.values), v2_64)
    np.testing.assert_array_equal(np_i(B.row_offsets), p.indptr)
    np.testing.assert_array_equal(np_i(B.column_indices), p.indices)
    np.testing.assert_array_equal(f64(B.todense()), dense_from_entries(v2_64, p.indptr, p.indices, 9, 7))
    # the original is unchanged
    np.testing.assert_array_equal(f64(p.A.values), p.v64)
    # other dtype
    v3, v3_64 = rand_values(rng, (p.nnz,), jnp.bfloat16)
    C = p.A.with_values(v3)
    assert C.dtype == jnp.bfloat16
    np.testing.assert_array_equal(f64(C.todense()), dense_from_entries(v3_64, p.indptr, p.indices, 9, 7))


def test_pytree(rng):
    p = make_problem(rng, 6, 8, jnp.float32, batch=(2,), empty_rows=1)
    A = p.A
    leaves, treedef = jax.tree_util.tree_flatten(A)
    assert any(l is A.values for l in leaves) or any(
        np.array_equal(f64(l), p.v64) for l in leaves if np.shape(l) == p.v64.shape)
    for l in leaves:
        assert hasattr(l, "shape") and hasattr(l, "dtype"), type(l)
    B = jax.tree_util.tree_unflatten(treedef, leaves)
    assert isinstance(B, jsdl.CSR) and B.shape == A.shape
    np.testing.assert_array_equal(f64(B.todense()), p.W64)
    C = jax.tree_util.tree_map(lambda a: a, A)
    assert isinstance(C, jsdl.CSR)
    np.testing.assert_array_equal(f64(C.todense()), p.W64)
    # the static shape is part of the tree structure, not a leaf
    p2 = make_problem(rng, 6, 9, jnp.float32, batch=(2,))
    assert jax.tree_util.tree_structure(p2.A) != treedef

    # through jit, as an argument and as a result
    @jax.jit
    def scale(A):
        return A.with_values(A.values * 2)

    D = scale(A)
    assert isinstance(D, jsdl.CSR) and D.shape == (6, 8)
    np.testing.assert_array_equal(f64(D.todense()), 2 * p.W64)
    x, x64_ = rand_dense(rng, (8, 3), jnp.float32)
    y = jax.jit(lambda A, x: A @ x)(A, x)
    assert_close(y, p.W64 @ x64_, jnp.float32)
    dense = jax.jit(lambda A: A.T.todense())(A)
    np.testing.assert_array_equal(f64(dense), np.swapaxes(p.W64, -1, -2))


# ----------------------------------------------------------------------------- validate

def _good_parts():
    # 4 x 5 matrix, rows of length 2, 0, 3, 1
    row_offsets = np.array([0, 2, 2, 5, 6], dtype=np.int32)
    cols = np.array([0, 3, 1, 2, 4, 4], dtype=np.int32)
    vals = np.array([1.0, -2.0, 3.0, 0.5, -1.5, 2.5], dtype=np.float32)
    return vals, row_offsets, cols, (4, 5)


def test_validate_good():
    vals, ro, ci, shape = _good_parts()
    A = jsdl.CSR.from_parts(jnp.asarray(vals), ro, ci, shape)
    assert A.validate() is A
    dense = np.zeros(shape)
    dense[entry_rows(ro), ci] = vals
    np.testing.assert_array_equal(f64(A.todense()), dense)


@pytest.mark.parametrize("case,pattern", [
    ("non_monotonic", r"(?i)row_?offsets|offset|monoton|decreas|sorted"),
    ("first_not_zero", r"(?i)row_?offsets|offset|\[0\]|start"),
    ("last_not_nnz", r"(?i)row_?offsets|offset|nnz"),
    ("col_negative", r"(?i)column"),
    ("col_too_large", r"(?i)column"),
])
def test_validate_bad(case, pattern):
    vals, ro, ci, shape = _good_parts()
    ro, ci = ro.copy(), ci.copy()
    if case == "non_monotonic":
        ro = np.array([0, 3, 2, 5, 6], dtype=np.int32)
    elif case == "first_not_zero":
        ro = np.array([1, 2, 2, 5, 6], dtype=np.int32)
    elif case == "last_not_nnz":
        ro = np.array([0, 2, 2, 5, 5], dtype=np.int32)
    elif case == "col_negative":
        ci[3] = -1
    elif case == "col_too_large":
        ci[4] = shape[1]
    with pytest.raises(ValueError, match=pattern):
        A = jsdl.CSR.from_parts(jnp.asarray(vals), ro, ci, shape)
        A.validate()


def _replace_leaf(A, field, new):
    """A copy of A whose sparsity field `field` is replaced (through the pytree)."""
    target = getattr(A.sparsity, field)
    flat, treedef = jax.tree_util.tree_flatten_with_path(A)
    idx = [i for i, (path, _) in enumerate(flat)
           if jax.tree_util.keystr(path).replace("'", "").endswith(("." + field, "[" + field + "]"))
           or jax.tree_util.keystr(path).split(".")[-1] == field]
    if len(idx) != 1:
        idx = [i for i, (_, leaf) in enumerate(flat) if leaf is target]
    assert len(idx) == 1, f"cannot locate the {field} leaf in the CSR pytree"
    leaves = [leaf for _, leaf in flat]
    leaves[idx[0]] = new
    return jax.tree_util.tree_unflatten(treedef, leaves)


@pytest.mark.parametrize("bad", [[0, 0, 2, 3], [0, 1, 2, 4], [3, 2, 1, -1]])
def test_validate_row_indices_not_permutation(bad):
    vals, ro, ci, shape = _good_parts()
    A = jsdl.CSR.from_parts(jnp.asarray(vals), ro, ci, shape)
    B = _replace_leaf(A, "row_indices", jnp.asarray(bad, dtype=jnp.int32))
    np.testing.assert_array_equal(np_i(B.row_indices), bad)
    with pytest.raises(ValueError, match=r"(?i)row_?indices|permutation"):
        B.validate()
    A.validate()  # the original is still fine


def test_validate_checks_the_tile_index_or_accepts_none():
    """A hand-made tile index that lists a tile's entries wrongly is caught; a pattern without
    one (without_tile_index, as built for very sparse large matrices) is valid."""
    vals, ro, ci, shape = _good_parts()
    A = jsdl.CSR.from_parts(jnp.asarray(vals), ro, ci, shape)
    bare = jsdl.CSR(A.values, A.sparsity.without_tile_index())
    assert bare.sparsity.tile_entries.shape == (0,) and bare.sparsity.T.tile_offsets.shape == (0,)
    bare.validate()
    np.testing.assert_array_equal(np_i(bare.todense()), np_i(A.todense()))
    entries = np_i(A.sparsity.tile_entries)
    B = _replace_leaf(A, "tile_entries", jnp.asarray(entries[::-1].copy()))
    with pytest.raises(ValueError, match=r"tile_entries does not match"):
        B.validate()


@pytest.mark.parametrize("field", ["entry_rows", "t_entry_rows"])
def test_validate_checks_the_entry_rows(field):
    """The SDDMM reads an entry's row from entry_rows: a hand-made half whose rows disagree with
    its offsets is caught."""
    vals, ro, ci, shape = _good_parts()
    A = jsdl.CSR.from_parts(jnp.asarray(vals), ro, ci, shape)
    rows = np_i(getattr(A.sparsity, field))
    B = _replace_leaf(A, field, jnp.asarray((rows + 1) % shape[0 if field == "entry_rows" else 1],
                                            dtype=jnp.int32))
    with pytest.raises(ValueError, match=field + " does not match"):
        B.validate()
