"""JAX transformations of the primitives: derivatives (checked numerically and against dense jnp
equivalents), vmap (against Python loops, one primitive call per vmap), and compositions."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

import jax_sparse_dl as jsdl
from conftest import assert_close, make_problem, primitive_names, rand_dense, rand_values

F64 = jnp.float64
F32 = jnp.float32


# ----------------------------------------------------------------------------- helpers

def tree_close(out, ref, dtype, what=""):
    lo, lr = jax.tree_util.tree_leaves(out), jax.tree_util.tree_leaves(ref)
    assert len(lo) == len(lr), (len(lo), len(lr))
    for i, (a, b) in enumerate(zip(lo, lr)):
        assert_close(a, np.asarray(b, dtype=np.float64), dtype, what=f"{what}[{i}]")


def tiny(rng, dtype=F64, m=5, k=7, batch=()):
    """A tiny pattern with an empty row, a full row and a single-entry row."""
    return make_problem(rng, m, k, dtype, batch=batch, spread=True, empty_rows=1)


class Dense:
    """The same computations written densely with jnp, for a fixed pattern (float64)."""

    def __init__(self, p):
        self.p = p
        self.rows = jnp.asarray(p.rows)
        self.cols = jnp.asarray(p.indices.astype(np.int64))
        self.mask = jnp.asarray(p.mask)

    def W(self, v):
        shape = v.shape[:-1] + (self.p.m, self.p.k)
        return jnp.zeros(shape, v.dtype).at[..., self.rows, self.cols].set(v)

    def spmm(self, v, x, bias=None, relu=False):
        y = jnp.matmul(self.W(v) * self.mask, x)
        if bias is not None:
            y = y + bias[..., :, None]
        if relu:
            y = jnp.where(y > 0, y, 0.0)
        return y

    def sddmm(self, q, km):
        full = jnp.matmul(q, jnp.swapaxes(km, -1, -2))
        return full[..., self.rows, self.cols]

    def softmax(self, v):
        W = self.W(v)
        logits = jnp.where(self.mask, W, -jnp.inf)
        mx = jnp.max(logits, axis=-1, keepdims=True)
        mx = jax.lax.stop_gradient(jnp.where(jnp.isfinite(mx), mx, 0.0))
        e = jnp.where(self.mask, jnp.exp(jnp.where(self.mask, W - mx, 0.0)), 0.0)
        s = jnp.sum(e, axis=-1, keepdims=True)
        prob = e / jnp.where(s > 0, s, 1.0)
        return prob[..., self.rows, self.cols]

    def attention(self, q, km, vm):
        return self.spmm(self.softmax(self.sddmm(q, km)), vm)


class Sparse:
    """The same computations with the package, closing over the pattern."""

    def __init__(self, A):
        self.A = A

    def spmm(self, v, x, bias=None, relu=False):
        return jsdl.spmm(self.A.with_values(v), x, bias=bias, relu=relu)

    def sddmm(self, q, km):
        return jsdl.sddmm(q, km, self.A).values

    def softmax(self, v):
        return jsdl.csr_softmax(self.A.with_values(v)).values

    def attention(self, q, km, vm):
        return jsdl.spmm(jsdl.csr_softmax(jsdl.sddmm(q, km, self.A)), vm)


def rnd(rng, shape, dtype=F64):
    return rand_dense(rng, shape, dtype)[0]


# ----------------------------------------------------------------------------- check_grads

@pytest.mark.parametrize("batched", [False, True])
def test_check_grads_spmm(rng, enable_x64, batched):
    p = tiny(rng, batch=(2, 1) if batched else ())
    S = Sparse(p.A)
    x = rnd(rng, ((3,) if batched else ()) + (p.k, 3))
    check_grads(S.spmm, (p.A.values, x), order=2, modes=("fwd", "rev"))


def test_check_grads_spmm_bias(rng, enable_x64):
    p = tiny(rng, batch=(2,))
    S = Sparse(p.A)
    x = rnd(rng, (p.k, 3))
    b = rnd(rng, (2, p.m))
    check_grads(S.spmm, (p.A.values, x, b), order=2, modes=("fwd", "rev"))


@pytest.mark.parametrize("batched", [False, True])
def test_check_grads_sddmm(rng, enable_x64, batched):
    p = tiny(rng)
    S = Sparse(p.A)
    q = rnd(rng, ((2, 1) if batched else ()) + (p.m, 4))
    km = rnd(rng, ((3,) if batched else ()) + (p.k, 4))
    check_grads(S.sddmm, (q, km), order=2, modes=("fwd", "rev"))


@pytest.mark.parametrize("batch", [(), (2,)])
def test_check_grads_softmax(rng, enable_x64, batch):
    p = tiny(rng)
    S = Sparse(p.A)
    v = rnd(rng, batch + (p.nnz,))
    check_grads(S.softmax, (v,), order=2, modes=("fwd", "rev"))


def test_check_grads_attention(rng, enable_x64):
    p = tiny(rng)
    S = Sparse(p.A)
    q, km, vm = rnd(rng, (p.m, 4)), rnd(rng, (p.k, 4)), rnd(rng, (p.k, 3))
    check_grads(S.attention, (q, km, vm), order=2, modes=("fwd", "rev"))


# ----------------------------------------------------------------------------- against dense jnp

def _compare_derivatives(rng, fs, fd, args):
    """grad (reverse) and jvp (forward) of fs and fd agree, with a random cotangent/tangent."""
    out = fs(*args)  # eager
    ref = jax.jit(fd)(*args)
    assert_close(out, ref, F64, what="primal")
    ct = rnd(rng, out.shape)
    tangents = tuple(rnd(rng, a.shape) for a in args)
    argnums = tuple(range(len(args)))

    def derivatives(f):
        # reverse and forward mode in one compiled function (keeps the suite fast)
        def both(args, tangents):
            g = jax.grad(lambda *a: jnp.sum(f(*a) * ct), argnums=argnums)(*args)
            return g, jax.jvp(f, args, tangents)[1]
        return jax.jit(both)(args, tangents)

    gs, ts = derivatives(fs)
    gd, td = derivatives(fd)
    for a, g in zip(args, gs):
        assert g.shape == a.shape and g.dtype == a.dtype
    tree_close(gs, gd, F64, what="grad")
    assert_close(ts, td, F64, what="jvp")


SPMM_CASES = [
    # (values batch, x batch, bias batch or None, relu)
    ((), (), None, False),
    ((), (), (), False),
    ((), (), None, True),
    ((), (), (), True),
    ((2, 1), (3,), None, False),
    ((2, 1), (3,), (3,), True),
    ((), (4,), (4,), False),
    ((3,), (), (1,), True),
]


@pytest.mark.parametrize("vb,xb,bb,relu", SPMM_CASES,
                         ids=[f"v{c[0]}-x{c[1]}-b{c[2]}-r{int(c[3])}" for c in SPMM_CASES])
def test_spmm_derivatives_vs_dense(rng, enable_x64, vb, xb, bb, relu):
    p = tiny(rng, m=6, k=7, batch=vb)
    S, D = Sparse(p.A), Dense(p)
    x = rnd(rng, xb + (p.k, 3))
    if bb is None:
        args = (p.A.values, x)
        fs = functools.partial(S.spmm, relu=relu)
        fd = functools.partial(D.spmm, relu=relu)
    else:
        args = (p.A.values, x, rnd(rng, bb + (p.m,)))
        fs = lambda v, x, b: S.spmm(v, x, b, relu)  # noqa: E731
        fd = lambda v, x, b: D.spmm(v, x, b, relu)  # noqa: E731
    _compare_derivatives(rng, fs, fd, args)


@pytest.mark.parametrize("qb,kb", [((), ()), ((2, 1), (3,)), ((), (2,)), ((2,), ())])
def test_sddmm_derivatives_vs_dense(rng, enable_x64, qb, kb):
    p = tiny(rng)
    S, D = Sparse(p.A), Dense(p)
    args = (rnd(rng, qb + (p.m, 4)), rnd(rng, kb + (p.k, 4)))
    _compare_derivatives(rng, S.sddmm, D.sddmm, args)


@pytest.mark.parametrize("batch", [(), (2, 3)])
def test_softmax_derivatives_vs_dense(rng, enable_x64, batch):
    p = tiny(rng, m=8, k=6)
    S, D = Sparse(p.A), Dense(p)
    _compare_derivatives(rng, S.softmax, D.softmax, (rnd(rng, batch + (p.nnz,)),))


@pytest.mark.parametrize("qb", [(), (2,)])
def test_attention_derivatives_vs_dense(rng, enable_x64, qb):
    p = tiny(rng)
    S, D = Sparse(p.A), Dense(p)
    args = (rnd(rng, qb + (p.m, 4)), rnd(rng, (p.k, 4)), rnd(rng, (p.k, 3)))
    _compare_derivatives(rng, S.attention, D.attention, args)


# ----------------------------------------------------------------------------- compositions

def test_jit_vmap_grad(rng, enable_x64):
    p = tiny(rng)
    S, D = Sparse(p.A), Dense(p)
    xs = rnd(rng, (4, p.k, 3))

    def loss(impl):
        return lambda v, x: jnp.sum(jnp.sin(impl.spmm(v, x)))

    gs = jax.jit(jax.vmap(jax.grad(loss(S), argnums=(0, 1)), in_axes=(None, 0)))(p.A.values, xs)
    gd = jax.jit(jax.vmap(jax.grad(loss(D), argnums=(0, 1)), in_axes=(None, 0)))(p.A.values, xs)
    assert gs[0].shape == (4, p.nnz) and gs[1].shape == xs.shape
    tree_close(gs, gd, F64, "jit(vmap(grad))")


def test_grad_jit_checkpoint(rng, enable_x64):
    p = tiny(rng)
    S, D = Sparse(p.A), Dense(p)
    args = (rnd(rng, (p.m, 4)), rnd(rng, (p.k, 4)), rnd(rng, (p.k, 3)))

    def loss(impl):
        return lambda q, km, vm: jnp.sum(jnp.tanh(impl.attention(q, km, vm)))

    gs = jax.grad(jax.jit(jax.checkpoint(loss(S))), argnums=(0, 1, 2))(*args)
    gd = jax.jit(jax.grad(loss(D), argnums=(0, 1, 2)))(*args)
    tree_close(gs, gd, F64, "grad(jit(checkpoint))")
    # value_and_grad with jit outside
    vs, gs2 = jax.jit(jax.value_and_grad(loss(S), argnums=(0, 1, 2)))(*args)
    vd = loss(D)(*args)
    assert_close(vs, vd, F64)
    tree_close(gs2, gd, F64, "jit(value_and_grad)")


def test_vmap_jacrev(rng, enable_x64):
    p = tiny(rng)
    S, D = Sparse(p.A), Dense(p)
    xs = rnd(rng, (3, p.k, 2))
    js = jax.vmap(jax.jacrev(S.spmm, argnums=(0, 1)), in_axes=(None, 0))(p.A.values, xs)
    jd = jax.jit(jax.vmap(jax.jacrev(D.spmm, argnums=(0, 1)), in_axes=(None, 0)))(p.A.values, xs)
    assert js[0].shape == (3, p.m, 2, p.nnz)
    tree_close(js, jd, F64, "vmap(jacrev)")


def test_jacfwd_jacrev_hessian(rng, enable_x64):
    p = tiny(rng, m=4, k=5)
    S, D = Sparse(p.A), Dense(p)
    q, km, vm = rnd(rng, (p.m, 3)), rnd(rng, (p.k, 3)), rnd(rng, (p.k, 2))

    def loss(impl):
        return lambda q, km: jnp.sum(jnp.sin(impl.attention(q, km, vm)))

    hs = jax.jit(jax.jacfwd(jax.jacrev(loss(S), argnums=(0, 1)), argnums=(0, 1)))(q, km)
    hd = jax.jit(jax.jacfwd(jax.jacrev(loss(D), argnums=(0, 1)), argnums=(0, 1)))(q, km)
    tree_close(hs, hd, F64, "jacfwd(jacrev)")
    # the Hessian in the values of an spmm loss (eager this time)
    x = rnd(rng, (p.k, 2))
    hv = jax.jacfwd(jax.jacrev(lambda v: jnp.sum(jnp.sin(S.spmm(v, x)))))(p.A.values)
    hvd = jax.jit(jax.jacfwd(jax.jacrev(lambda v: jnp.sum(jnp.sin(D.spmm(v, x))))))(p.A.values)
    assert hv.shape == (p.nnz, p.nnz)
    assert_close(hv, hvd, F64)


def test_jacobians_of_each_op(rng, enable_x64):
    p = tiny(rng)
    S, D = Sparse(p.A), Dense(p)
    q, km = rnd(rng, (p.m, 3)), rnd(rng, (p.k, 3))
    jj = lambda t, f, **kw: jax.jit(t(f, **kw))  # noqa: E731
    tree_close(jj(jax.jacfwd, S.sddmm, argnums=(0, 1))(q, km), jj(jax.jacfwd, D.sddmm, argnums=(0, 1))(q, km),
               F64, "jacfwd sddmm")
    tree_close(jj(jax.jacrev, S.sddmm, argnums=(0, 1))(q, km), jj(jax.jacrev, D.sddmm, argnums=(0, 1))(q, km),
               F64, "jacrev sddmm")
    v = rnd(rng, (p.nnz,))
    assert_close(jj(jax.jacrev, S.softmax)(v), jj(jax.jacrev, D.softmax)(v), F64, what="jacrev softmax")
    assert_close(jj(jax.jacfwd, S.softmax)(v), jj(jax.jacfwd, D.softmax)(v), F64, what="jacfwd softmax")
    x, b = rnd(rng, (p.k, 2)), rnd(rng, (p.m,))
    f = lambda v, x, b: S.spmm(v, x, b, True)  # noqa: E731
    g = lambda v, x, b: D.spmm(v, x, b, True)  # noqa: E731
    tree_close(jj(jax.jacfwd, f, argnums=(0, 1, 2))(p.A.values, x, b),
               jj(jax.jacfwd, g, argnums=(0, 1, 2))(p.A.values, x, b), F64, "jacfwd spmm bias relu")


def test_grad_of_vmap_and_jit_of_grad(rng, enable_x64):
    p = tiny(rng)
    S, D = Sparse(p.A), Dense(p)
    xs = rnd(rng, (3, p.k, 2))
    b = rnd(rng, (p.m,))

    def loss(impl):
        return lambda v, b: jnp.sum(jax.vmap(lambda x: impl.spmm(v, x, b, True), in_axes=0)(xs) ** 2)

    gs = jax.jit(jax.grad(loss(S), argnums=(0, 1)))(p.A.values, b)
    gd = jax.jit(jax.grad(loss(D), argnums=(0, 1)))(p.A.values, b)
    tree_close(gs, gd, F64, "jit(grad(vmap))")


def test_linear_transpose_and_linearize(rng, enable_x64):
    p = tiny(rng)
    S, D = Sparse(p.A), Dense(p)
    x = rnd(rng, (p.k, 3))
    ct = rnd(rng, (p.m, 3))
    ts = jax.linear_transpose(lambda x: S.spmm(p.A.values, x), x)(ct)
    td = jax.linear_transpose(lambda x: D.spmm(p.A.values, x), x)(ct)
    tree_close(ts, td, F64, "linear_transpose")
    y, f_jvp = jax.linearize(S.spmm, p.A.values, x)
    tv, tx = rnd(rng, (p.nnz,)), rnd(rng, x.shape)
    assert_close(f_jvp(tv, tx), jax.jvp(D.spmm, (p.A.values, x), (tv, tx))[1], F64)


# ----------------------------------------------------------------------------- vmap

def _take(a, i, axis):
    return a if axis is None else jnp.take(a, i, axis=axis)


def _loop(f, args, in_axes, out_axes=0):
    sizes = {a.shape[ax] for a, ax in zip(args, in_axes) if ax is not None}
    assert len(sizes) == 1
    (size,) = sizes
    outs = [f(*[_take(a, i, ax) for a, ax in zip(args, in_axes)]) for i in range(size)]
    return jnp.stack(outs, axis=out_axes)


def _check_single_call(vf, args, prims):
    names = primitive_names(jax.make_jaxpr(vf)(*args))
    for prim in prims:
        assert names.count(prim) == 1, f"{prim} appears {names.count(prim)} times in {names}"
    assert not {"while", "scan"} & set(names), names


def check_vmap(f, args, in_axes, prims, out_axes=0, dtype=F32):
    vf = jax.vmap(f, in_axes=in_axes, out_axes=out_axes)
    out = vf(*args)
    ref = _loop(f, args, in_axes, out_axes)
    assert out.shape == ref.shape, (out.shape, ref.shape)
    assert_close(out, np.asarray(ref, np.float64), dtype, what="vmap vs loop")
    _check_single_call(vf, args, prims)
    return out


SPMM_VMAP = [
    # (values shape prefix, x shape prefix, in_axes, out_axes)
    ("x only", None, "B", (None, 0), 0),
    ("values only", "B", None, (0, None), 0),
    ("both", "B", "B", (0, 0), 0),
    ("x axis 1", None, "kBn", (None, 1), 0),
    ("out_axes 1", "B", "B", (0, 0), 1),
    ("out_axes -1", None, "B", (None, 0), -1),
    ("values axis 1, pre-batched", "2B", None, (1, None), 0),
    ("x pre-batched", "21", "B3", (None, 0), 0),
]


@pytest.mark.parametrize("name,vs,xs,in_axes,out_axes", SPMM_VMAP, ids=[c[0] for c in SPMM_VMAP])
def test_vmap_spmm(rng, name, vs, xs, in_axes, out_axes):
    B, m, k, n = 3, 6, 7, 4
    p = make_problem(rng, m, k, F32, spread=True, empty_rows=1)
    nnz = p.nnz
    vshape = {None: (nnz,), "B": (B, nnz), "2B": (2, B, nnz), "21": (2, 1, nnz)}[vs]
    xshape = {None: (k, n), "B": (B, k, n), "kBn": (k, B, n), "B3": (B, 3, k, n)}[xs]
    v = rand_values(rng, vshape, F32)[0]
    x = rnd(rng, xshape, F32)
    f = lambda v, x: jsdl.spmm(p.A.with_values(v), x)  # noqa: E731
    out = check_vmap(f, (v, x), in_axes, ["jsdl_spmm"], out_axes)
    # independent check of one slice against numpy
    W = np.zeros(vshape[:-1] + (m, k))
    W[..., p.rows, p.indices] = np.asarray(v, np.float64)
    if vs is None and in_axes == (None, 0) and out_axes == 0:
        assert_close(out, np.matmul(W, np.asarray(x, np.float64)), F32)


def test_vmap_spmm_bias_relu(rng):
    B, m, k, n = 3, 6, 7, 4
    p = make_problem(rng, m, k, F32, empty_rows=2)
    v = rand_values(rng, (B, p.nnz), F32)[0]
    x = rnd(rng, (k, n), F32)
    b = rnd(rng, (B, m), F32)
    f = lambda v, x, b: jsdl.spmm(p.A.with_values(v), x, bias=b, relu=True)  # noqa: E731
    check_vmap(f, (v, x, b), (None, None, 0), ["jsdl_spmm"])
    check_vmap(f, (v, x, b), (0, None, 0), ["jsdl_spmm"])
    check_vmap(f, (v, x, b[0]), (0, None, None), ["jsdl_spmm"])


def test_vmap_spmm_csr_argument_and_nested(rng):
    B1, B2, m, k, n = 2, 3, 5, 6, 3
    p = make_problem(rng, m, k, F32, spread=True)
    xs = rnd(rng, (B2, k, n), F32)
    out = jax.vmap(lambda A, x: A @ x, in_axes=(None, 0))(p.A, xs)
    assert_close(out, np.matmul(p.W64, np.asarray(xs, np.float64)), F32)
    vs = rand_values(rng, (B1, p.nnz), F32)[0]
    f = lambda v, x: jsdl.spmm(p.A.with_values(v), x)  # noqa: E731
    vf = jax.vmap(jax.vmap(f, in_axes=(0, None)), in_axes=(None, 0))
    out = vf(vs, xs)
    assert out.shape == (B2, B1, m, n)
    ref = jnp.stack([jnp.stack([f(vs[i], xs[j]) for i in range(B1)]) for j in range(B2)])
    assert_close(out, np.asarray(ref, np.float64), F32)
    _check_single_call(vf, (vs, xs), ["jsdl_spmm"])
    # vmap of vmap over the same argument (two batch axes of x)
    xs2 = rnd(rng, (B1, B2, k, n), F32)
    vf2 = jax.vmap(jax.vmap(f, in_axes=(None, 0)), in_axes=(0, 0))
    out2 = vf2(vs, xs2)
    W = np.zeros((B1, m, k))
    W[:, p.rows, p.indices] = np.asarray(vs, np.float64)
    assert_close(out2, np.matmul(W[:, None], np.asarray(xs2, np.float64)), F32)
    _check_single_call(vf2, (vs, xs2), ["jsdl_spmm"])


SDDMM_VMAP = [
    ("q only", "B", None, (0, None), 0),
    ("k only", None, "B", (None, 0), 0),
    ("both", "B", "B", (0, 0), 0),
    ("q axis 1", "mBd", None, (1, None), 0),
    ("k axis 2", None, "kdB", (None, 2), 0),
    ("out_axes 1", "B", "B", (0, 0), 1),
    ("q pre-batched", "B21", "3", (0, None), 0),
]


@pytest.mark.parametrize("name,qs,ks,in_axes,out_axes", SDDMM_VMAP, ids=[c[0] for c in SDDMM_VMAP])
def test_vmap_sddmm(rng, name, qs, ks, in_axes, out_axes):
    B, m, k, d = 3, 6, 7, 5
    p = make_problem(rng, m, k, F32, spread=True, empty_rows=1)
    qshape = {None: (m, d), "B": (B, m, d), "mBd": (m, B, d), "B21": (B, 2, 1, m, d)}[qs]
    kshape = {None: (k, d), "B": (B, k, d), "kdB": (k, d, B), "3": (3, k, d)}[ks]
    q, km = rnd(rng, qshape, F32), rnd(rng, kshape, F32)
    f = lambda q, km: jsdl.sddmm(q, km, p.A).values  # noqa: E731
    check_vmap(f, (q, km), in_axes, ["jsdl_sddmm"], out_axes)


def test_vmap_sddmm_nested(rng):
    B1, B2, m, k, d = 2, 3, 5, 6, 4
    p = make_problem(rng, m, k, F32)
    qs, ks = rnd(rng, (B1, m, d), F32), rnd(rng, (B2, k, d), F32)
    f = lambda q, km: jsdl.sddmm(q, km, p.A).values  # noqa: E731
    vf = jax.vmap(jax.vmap(f, in_axes=(None, 0)), in_axes=(0, None))
    out = vf(qs, ks)
    assert out.shape == (B1, B2, p.nnz)
    full = np.matmul(np.asarray(qs, np.float64)[:, None], np.swapaxes(np.asarray(ks, np.float64), -1, -2)[None])
    assert_close(out, full[..., p.rows, p.indices], F32)
    _check_single_call(vf, (qs, ks), ["jsdl_sddmm"])


@pytest.mark.parametrize("name,vshape,in_axes,out_axes", [
    ("axis 0", "B", 0, 0),
    ("axis 1", "nB", 1, 0),
    ("out_axes 1", "B", 0, 1),
    ("pre-batched", "B2", 0, 0),
])
def test_vmap_softmax(rng, name, vshape, in_axes, out_axes):
    B = 3
    p = make_problem(rng, 7, 6, F32, spread=True, empty_rows=1)
    shape = {"B": (B, p.nnz), "nB": (p.nnz, B), "B2": (B, 2, p.nnz)}[vshape]
    v = rnd(rng, shape, F32)
    f = lambda v: jsdl.csr_softmax(p.A.with_values(v)).values  # noqa: E731
    check_vmap(f, (v,), (in_axes,), ["jsdl_csr_softmax"], out_axes)


def test_vmap_softmax_nested(rng):
    p = make_problem(rng, 7, 6, F32, spread=True)
    v = rnd(rng, (2, 3, p.nnz), F32)
    f = lambda v: jsdl.csr_softmax(p.A.with_values(v)).values  # noqa: E731
    vf = jax.vmap(jax.vmap(f))
    out = vf(v)
    ref = jsdl.csr_softmax(p.A.with_values(v)).values
    assert_close(out, np.asarray(ref, np.float64), F32)
    _check_single_call(vf, (v,), ["jsdl_csr_softmax"])


ATTN_PRIMS = ["jsdl_sddmm", "jsdl_csr_softmax", "jsdl_spmm"]


@pytest.mark.parametrize("in_axes", [(0, 0, 0), (0, None, None), (None, 0, 1)])
def test_vmap_attention(rng, in_axes):
    B, m, k, d, n = 3, 6, 7, 4, 5
    p = make_problem(rng, m, k, F32, spread=True, empty_rows=1)
    S = Sparse(p.A)

    def shape(base, ax):
        if ax is None:
            return base
        s = list(base)
        s.insert(ax, B)
        return tuple(s)

    args = (rnd(rng, shape((m, d), in_axes[0]), F32),
            rnd(rng, shape((k, d), in_axes[1]), F32),
            rnd(rng, shape((k, n), in_axes[2]), F32))
    check_vmap(S.attention, args, in_axes, ATTN_PRIMS)


def test_vmap_attention_nested(rng):
    B1, B2, m, k, d, n = 2, 3, 5, 6, 4, 3
    p = make_problem(rng, m, k, F32, spread=True)
    S = Sparse(p.A)
    q = rnd(rng, (B1, m, d), F32)
    km = rnd(rng, (B2, k, d), F32)
    vm = rnd(rng, (k, n), F32)
    vf = jax.vmap(jax.vmap(S.attention, in_axes=(None, 0, None)), in_axes=(0, None, None))
    out = vf(q, km, vm)
    assert out.shape == (B1, B2, m, n)
    ref = jnp.stack([jnp.stack([S.attention(q[i], km[j], vm) for j in range(B2)]) for i in range(B1)])
    assert_close(out, np.asarray(ref, np.float64), F32)
    _check_single_call(vf, (q, km, vm), ATTN_PRIMS)


def test_vmap_grad_matches_loop(rng):
    """vmap of the backward pass (transpose rules under batching), float32."""
    B = 3
    p = make_problem(rng, 6, 7, F32, spread=True, empty_rows=1)
    S = Sparse(p.A)
    xs = rnd(rng, (B, p.k, 4), F32)
    qs = rnd(rng, (B, p.m, 3), F32)
    km = rnd(rng, (p.k, 3), F32)

    def loss(v, x, q):
        s = jsdl.sddmm(q, km, p.A.with_values(v))
        return jnp.sum(jnp.sin(S.spmm(v, x))) + jnp.sum(jsdl.csr_softmax(s).values ** 2 * v)

    g = jax.jit(jax.grad(loss, argnums=(0, 1, 2)))
    out = jax.vmap(g, in_axes=(None, 0, 0))(p.A.values, xs, qs)
    ref = [g(p.A.values, xs[i], qs[i]) for i in range(B)]
    for j in range(3):
        assert_close(out[j], np.stack([np.asarray(r[j], np.float64) for r in ref]), F32, what=f"grad {j}")


# ----------------------------------------------------------------------------- batched patterns

def _two_patterns(rng, m=5, k=6, dtype=F32):
    p1 = make_problem(rng, m, k, dtype, density=0.5)
    lengths = np.diff(p1.indptr)
    cols = [np.sort(rng.choice(k, L, replace=False)) for L in lengths]
    indices2 = np.concatenate(cols).astype(np.int32)
    v2 = rand_values(rng, (p1.nnz,), dtype)[0]
    A2 = jsdl.CSR.from_parts(v2, p1.indptr, indices2, (m, k))
    assert A2.nnz == p1.A.nnz
    stacked = jax.tree_util.tree_map(lambda a, b: jnp.stack([jnp.asarray(a), jnp.asarray(b)]), p1.A, A2)
    return p1, stacked


def test_vmap_over_pattern_raises(rng):
    p, stacked = _two_patterns(rng)
    x = rnd(rng, (p.k, 3), F32)
    q, km = rnd(rng, (p.m, 2), F32), rnd(rng, (p.k, 2), F32)
    with pytest.raises(NotImplementedError):
        jax.vmap(lambda A: jsdl.spmm(A, x))(stacked)
    with pytest.raises(NotImplementedError):
        jax.vmap(lambda A: jsdl.sddmm(q, km, A).values)(stacked)
    with pytest.raises(NotImplementedError):
        jax.vmap(lambda A: jsdl.csr_softmax(A).values)(stacked)
    with pytest.raises(NotImplementedError):
        jax.jit(jax.vmap(lambda A, x: A @ x, in_axes=(0, None)))(stacked, x)


def test_export_with_the_custom_calls_allowed():
  # docs/api.md: jax.export takes the package's custom calls once their checks are disabled; the
  # attention gradient uses all four targets, and the exported call computes what the function
  # does.
  A = jsdl.random_csr(jax.random.key(0), (13, 11), 0.6)
  x = jax.random.normal(jax.random.key(1), (11, 5))
  q = jax.random.normal(jax.random.key(2), (13, 4))
  kmat = jax.random.normal(jax.random.key(3), (11, 4))

  def loss(q, x):
    return jnp.sum(jsdl.spmm(jsdl.csr_softmax(jsdl.sddmm(q, kmat, A)), x) ** 2)

  fn = jax.jit(jax.grad(loss, (0, 1)))
  if "jsdl_" not in fn.lower(q, x).as_text():
    pytest.skip("the ops lower to pure JAX here (JSDL_CPU_KERNELS=0): no custom calls")
  targets = ("jsdl_spmm", "jsdl_sddmm", "jsdl_csr_softmax", "jsdl_csr_softmax_grad")
  checks = [jax.export.DisabledSafetyCheck.custom_call(t) for t in targets]
  with pytest.raises(ValueError, match="custom calls"):
    jax.export.export(fn, disabled_checks=checks[:-1])(q, x)
  exported = jax.export.export(fn, disabled_checks=checks)(q, x)  # (serializing needs flatbuffers)
  for got, want in zip(exported.call(q, x), fn(q, x)):
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-6, atol=1e-6)
