"""The `precision` argument of spmm and sddmm: parsing, errors, and that every primitive a
gradient creates carries the caller's precision."""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jax_sparse_dl as jsdl
from conftest import assert_close, make_problem, rand_dense


def _precisions(jaxpr):
  """precision params of every jsdl primitive in a jaxpr, recursively."""
  found = []
  for eqn in jaxpr.eqns:
    if eqn.primitive.name in ("jsdl_spmm", "jsdl_sddmm"):
      found.append((eqn.primitive.name, eqn.params["precision"]))
    for v in eqn.params.values():
      inner = getattr(v, "jaxpr", v)
      if hasattr(inner, "eqns"):
        found.extend(_precisions(inner))
  return found


@pytest.mark.parametrize("given, name", [(None, "DEFAULT"), ("highest", "HIGHEST"),
                                         (jax.lax.Precision.HIGH, "HIGH"),
                                         ("float32", "HIGHEST"), ("tensorfloat32", "HIGH")])
def test_precision_is_recorded(rng, given, name):
  with jax.default_matmul_precision(None):  # unset, as outside the test suite
    _check_recorded(rng, given, name)


@pytest.mark.parametrize("configured, name", [("highest", "HIGHEST"), ("float32", "HIGHEST"),
                                              ("tensorfloat32", "HIGH"), ("bfloat16", "DEFAULT"),
                                              ("default", "DEFAULT")])
def test_none_follows_default_matmul_precision(rng, configured, name):
  """precision=None takes jax.default_matmul_precision, as jnp.dot does; explicit wins."""
  with jax.default_matmul_precision(configured):
    _check_recorded(rng, None, name)
    _check_recorded(rng, "highest", "HIGHEST")


def _check_recorded(rng, given, name):
  p = make_problem(rng, 7, 5, jnp.float32)
  x = rand_dense(rng, (5, 3), jnp.float32)[0]
  jaxpr = jax.make_jaxpr(lambda v, x: jsdl.spmm(p.A.with_values(v), x, precision=given))(
      p.A.values, x).jaxpr
  assert _precisions(jaxpr) == [("jsdl_spmm", name)]
  q = rand_dense(rng, (7, 4), jnp.float32)[0]
  kmat = rand_dense(rng, (5, 4), jnp.float32)[0]
  jaxpr = jax.make_jaxpr(lambda q, k: jsdl.sddmm(q, k, p.A, precision=given).values)(q, kmat).jaxpr
  assert _precisions(jaxpr) == [("jsdl_sddmm", name)]


@pytest.mark.parametrize("bad, error", [("bogus", ValueError), (3.5, ValueError),
                                        (("highest", "highest"), TypeError)])
def test_bad_precision_names_the_op(rng, bad, error):
  p = make_problem(rng, 4, 4, jnp.float32)
  x = jnp.ones((4, 2), jnp.float32)
  with pytest.raises(error, match="spmm: precision"):
    jsdl.spmm(p.A, x, precision=bad)
  with pytest.raises(error, match="sddmm: precision"):
    jsdl.sddmm(x, x, p.A, precision=bad)


def test_gradients_keep_precision(rng):
  p = make_problem(rng, 6, 5, jnp.float32)
  x = rand_dense(rng, (5, 3), jnp.float32)[0]
  q = rand_dense(rng, (6, 4), jnp.float32)[0]
  kmat = rand_dense(rng, (5, 4), jnp.float32)[0]

  def loss(v, x, q, kmat):
    s = jsdl.sddmm(q, kmat, p.A.with_values(v), precision="highest")
    return jnp.sum(jsdl.spmm(s, x, precision="highest") ** 2)

  jaxpr = jax.make_jaxpr(jax.grad(loss, argnums=(0, 1, 2, 3)))(p.A.values, x, q, kmat).jaxpr
  found = _precisions(jaxpr)
  assert len(found) >= 5  # forward 2, backward: sddmm for values, spmm for x, 2 spmm for q, kmat
  assert {prec for _, prec in found} == {"HIGHEST"}


def test_highest_matches_float64(rng):
  p = make_problem(rng, 9, 11, jnp.float32)
  x, x64 = rand_dense(rng, (11, 6), jnp.float32)
  out = jsdl.spmm(p.A, x, precision="highest")
  assert_close(out, p.W64 @ x64, jnp.float32)
