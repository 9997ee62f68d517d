"""Kernel timing without Python dispatch: many calls inside one jitted loop.

Timing one jitted call from Python measures dispatch, argument handling and synchronisation as
much as the kernel (tens of microseconds, comparable to a small sparse kernel on a GPU). This
module times a function the same way for every contender (jsdl, dense ``jnp.dot``, BCSR, ...):

1. ``fn(*args)`` is staged ``calls`` times inside one ``jax.lax.fori_loop`` in one jitted
   function. The loop carries ``(args, out)``; the body computes ``out = fn(*args)`` and passes
   *both* through ``jax.lax.optimization_barrier``::

       def body(i, carry):
           args, _ = carry
           out = fn(*args)
           return jax.lax.optimization_barrier((args, out))

   Because the barrier hides from XLA that the carried ``args`` are unchanged, ``fn`` is not loop
   invariant (no hoisting out of the loop, no CSE of the iterations), and because the barrier
   ties ``out`` to the next iteration's inputs, and the last ``out`` is the loop's result, no
   iteration is dead code. The barrier itself is free (it emits no instruction). Iterations run
   one after the other; inputs stay the same (so caches are as warm as in a steady-state
   training or inference step where weights and activations were just written).
   Array leaves of ``args`` (pytrees such as a :class:`jax_sparse_dl.CSR` work) are carried;
   other leaves (python scalars, strings, ...) are closed over as constants.
2. The loop is compiled (``compile_s``), executed ``warmup`` times, then ``repeats`` times, each
   execution timed with ``time.perf_counter`` around ``jax.block_until_ready``.
3. The result is per call: each execution's time divided by ``calls``; ``median_s`` is the median
   over the repeats. What is left of the overhead (one dispatch, one copy of the inputs into the
   loop carry, the loop's own bookkeeping) is spread over ``calls`` calls.

When ``calls`` is not given it is chosen so that one execution takes at least ``min_time_s``
(default 20 ms), capped at ``max_calls``: a first compile with ``calls = 1`` estimates the time
of one call, then ``calls`` is raised (recompiling; the loop is not unrolled so compile time does
not grow with ``calls``) until an execution reaches ``min_time_s`` or the cap.

The trip count is a compile-time constant, so on GPU the loop needs no device-to-host
synchronisation per iteration.

**Two clocks.** With ``clock="wall"`` (the default) the time of an execution is the host's
``perf_counter`` around it. That includes XLA's per-iteration launch work on the host (thunk
dispatch, the custom call's handler, the kernel launch): on an H200 about 8-12 µs a call, so a
smaller kernel is hidden behind it and every contender meets the same floor. With
``clock="device"`` each timed execution runs again inside a JAX profiler session (CUPTI) and its
time is the *GPU's busy time*: the union of the intervals of all kernels and copies on the GPU's
streams, whatever launched them (XLA fusions, cuBLAS, cuSPARSE, this package). That is kernel
time, the same method for every contender; ``wall_median_s`` keeps the wall-clock median of the
same loop.
"""

from __future__ import annotations

import dataclasses
import math
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np

import jax
import jax.numpy as jnp

__all__ = ["TimingResult", "time_per_call", "make_loop", "CLOCKS"]

CLOCKS = ("wall", "device")


@dataclasses.dataclass(frozen=True)
class TimingResult:
    """Time per call of a function, measured with :func:`time_per_call`.

    Attributes:
      median_s: median over the repeats of (execution time / calls), seconds.
      min_s, max_s, mean_s: the same statistics (min, max, mean).
      calls: calls of ``fn`` per execution of the jitted loop.
      repeats: number of timed executions.
      times_s: per-call time of each timed execution, seconds.
      compile_s: compile time of the final loop (lowering + XLA compile), seconds; 0.0 when
        it came from ``time_per_call``'s ``cache``.
      compiles: loops compiled by this measurement (0 when all came from the cache).
      output: with ``keep_output``, the leaves of ``fn``'s output (last timed execution).
      executable: the compiled loop that was timed (``jax.stages.Compiled``; e.g. ``as_text()``
        shows which kernels or custom calls it runs).
      clock: "wall" or "device" (module docstring): what ``median_s`` and the others measure.
      wall_median_s: the wall-clock median of the same loop (equal to ``median_s`` for "wall").
    """

    median_s: float
    min_s: float
    max_s: float
    mean_s: float
    calls: int
    repeats: int
    times_s: tuple[float, ...]
    compile_s: float
    compiles: int = 1
    output: Any = dataclasses.field(default=None, repr=False, compare=False)
    executable: Any = dataclasses.field(default=None, repr=False, compare=False)
    clock: str = "wall"
    wall_median_s: float | None = None

    @property
    def median_us(self) -> float:
        return self.median_s * 1e6

    @property
    def min_us(self) -> float:
        return self.min_s * 1e6

    def __str__(self) -> str:
        return (
            f"{self.median_us:.2f} us/call (min {self.min_us:.2f}, "
            f"{self.calls} calls x {self.repeats} repeats)"
        )


def _is_dynamic(leaf) -> bool:
    return isinstance(leaf, (jax.Array, np.ndarray, np.generic))


def make_loop(fn: Callable, *args, calls: int):
    """Builds the timing loop (see the module docstring) without compiling or running it.

    Returns ``(looped, dynamic)``: ``looped(dynamic)`` is a jitted function that runs
    ``fn(*args)`` ``calls`` times and returns the leaves of the last output; ``dynamic`` is the
    list of array leaves of ``args`` it takes.
    """
    calls = int(calls)
    if calls < 1:
        raise ValueError(f"make_loop: calls must be >= 1, got {calls}")
    leaves, treedef = jax.tree_util.tree_flatten(args)
    dynamic_mask = [_is_dynamic(leaf) for leaf in leaves]
    dynamic = [leaf for leaf, d in zip(leaves, dynamic_mask) if d]
    static = [leaf for leaf, d in zip(leaves, dynamic_mask) if not d]

    def call(dyn_values):
        dyn_it, static_it = iter(dyn_values), iter(static)
        full = [next(dyn_it) if d else next(static_it) for d in dynamic_mask]
        call_args = jax.tree_util.tree_unflatten(treedef, full)
        return jax.tree_util.tree_leaves(fn(*call_args))

    out_shapes = jax.eval_shape(call, dynamic)
    if not out_shapes:
        raise ValueError("make_loop: fn returns no arrays; there is nothing to keep alive")

    def looped(dyn_values):
        init_out = [jnp.zeros(s.shape, s.dtype) for s in out_shapes]

        def body(_, carry):
            carried_args, _ = carry
            out = call(carried_args)
            return jax.lax.optimization_barrier((carried_args, out))

        _, out = jax.lax.fori_loop(0, calls, body, (list(dyn_values), init_out))
        return out

    return jax.jit(looped), dynamic


def _time_executions(compiled, dynamic, n: int, keep_last: bool = False):
    """Times ``n`` executions; returns the times and, with ``keep_last``, the last output."""
    times, last = [], None
    for _ in range(n):
        t0 = time.perf_counter()
        out = compiled(dynamic)
        jax.block_until_ready(out)
        times.append(time.perf_counter() - t0)
        if keep_last:
            last = out
        del out
    return (times, last) if keep_last else times


def _busy_ns(intervals) -> float:
    """Length of the union of (start, end) intervals, in their unit."""
    total, end = 0.0, -math.inf
    for a, b in sorted(intervals):
        if b <= end:
            continue
        total += b - max(a, end)
        end = b
    return total


_EXECUTION = "jsdl.timing.execution"  # host annotation around each profiled execution


def _gpu_intervals(profile):
    """(start, end) ns of the events on the stream lines ("Stream #...": kernels and copies) of
    every "/device:GPU:*" plane. Annotation lines ("XLA Ops", "XLA Modules", ...) repeat the
    same spans and are left out."""
    intervals, lines = [], []
    for plane in profile.planes:
        if not plane.name.startswith("/device:GPU:"):
            continue
        for line in plane.lines:
            lines.append(line.name)
            if line.name.startswith("Stream #"):
                intervals.extend((e.start_ns, e.end_ns) for e in line.events)
    if not intervals:
        planes = sorted(p.name for p in profile.planes)
        raise RuntimeError("timing: clock='device' needs a GPU profile with kernels on stream "
                           f"lines; planes found: {planes}, GPU lines: {lines}")
    return intervals


def device_busy_s(profile, windows=None):
    """GPU busy time in a profile (``jax.profiler.ProfileData``): the length of the union of the
    GPU's stream events, seconds. With ``windows`` ((start, end) ns on the profile's clock), a
    list: the busy time of the events that start in each window."""
    intervals = _gpu_intervals(profile)
    if windows is None:
        return _busy_ns(intervals) * 1e-9
    return [_busy_ns([iv for iv in intervals if a <= iv[0] < b]) * 1e-9 for a, b in windows]


def _execution_windows(profile):
    return sorted((e.start_ns, e.end_ns) for plane in profile.planes
                  if plane.name.startswith("/host:") for line in plane.lines
                  for e in line.events if e.name == _EXECUTION)


def _profiled(run):
    """``run()`` inside a profiler session; returns the session's ``ProfileData``."""
    from jax._src.lib import _profiler  # the in-process session jax.profiler.trace is built on
    from jax.profiler import ProfileData
    try:
        session = _profiler.ProfilerSession()
    except Exception as e:  # e.g. another trace is running
        raise RuntimeError(f"timing: clock='device' could not start a profiler session: {e}")
    try:
        run()
    finally:
        xspace = session.stop()
    return ProfileData.from_serialized_xspace(xspace)


def _profiled_executions(compiled, dynamic, n: int):
    """``n`` executions in one profiler session (starting one costs about 0.1 s on an H200),
    each in a host annotation whose span on the profile's clock holds that execution's GPU
    events (it ends after block_until_ready); returns the session's ``ProfileData``."""
    def run():
        for _ in range(n):
            with jax.profiler.TraceAnnotation(_EXECUTION):
                jax.block_until_ready(compiled(dynamic))

    return _profiled(run)


def _device_times(compiled, dynamic, n: int):
    """GPU busy time of each of ``n`` executions (``_profiled_executions``)."""
    profile = _profiled_executions(compiled, dynamic, n)
    windows = _execution_windows(profile)
    times = device_busy_s(profile, windows) if len(windows) == n else []
    if len(times) != n or not all(t > 0 for t in times) or not math.isclose(
            sum(times), device_busy_s(profile), rel_tol=1e-6):
        raise RuntimeError(
            f"timing: clock='device': {len(windows)} execution spans for {n} executions do not "
            "hold the profile's GPU events (other GPU work in this process during the timing?)")
    return times


def _compile(fn, args, calls):
    looped, dynamic = make_loop(fn, *args, calls=calls)
    t0 = time.perf_counter()
    compiled = looped.lower(dynamic).compile()
    return compiled, dynamic, time.perf_counter() - t0


def _cache_key(fn, args):
    """A hashable key for the compiled loop of ``fn(*args)``: fn itself, the pytree structure,
    the avals (shape, dtype, weak type, sharding) of the array leaves and the values of the other
    leaves; None when something is not hashable (then nothing is cached)."""
    leaves, treedef = jax.tree_util.tree_flatten(args)
    sig = []
    for leaf in leaves:
        if _is_dynamic(leaf):
            sig.append(("array", tuple(leaf.shape), str(leaf.dtype),
                        bool(getattr(leaf, "weak_type", False)), getattr(leaf, "sharding", None)))
        else:
            sig.append(("static", type(leaf), leaf))
    key = (fn, treedef, tuple(sig))
    try:
        hash(key)
    except TypeError:
        return None
    return key


class _Compiler:
    """Compiles the timing loop for a number of calls, through an optional cache (see
    ``time_per_call``'s ``cache``); counts the compilations and keeps the last compile time."""

    def __init__(self, fn, args, cache):
        self.fn, self.args, self.cache = fn, args, cache
        self.key = _cache_key(fn, args) if cache is not None else None
        self.compiles, self.compile_s = 0, 0.0
        self.dynamic = [leaf for leaf in jax.tree_util.tree_leaves(args) if _is_dynamic(leaf)]

    def cached_calls(self):
        return None if self.key is None else self.cache.get(("calls", self.key))

    def remember_calls(self, calls):
        if self.key is not None:
            self.cache[("calls", self.key)] = calls

    def __call__(self, calls):
        if self.key is not None:
            compiled = self.cache.get(("loop", self.key, calls))
            if compiled is not None:
                self.compile_s = 0.0
                return compiled
        compiled, _, self.compile_s = _compile(self.fn, self.args, calls)
        self.compiles += 1
        if self.key is not None:
            self.cache[("loop", self.key, calls)] = compiled
        return compiled


def time_per_call(
    fn: Callable,
    *args: Any,
    calls: int | None = None,
    repeats: int = 10,
    warmup: int = 2,
    min_time_s: float = 0.02,
    max_calls: int = 10_000,
    calls_hint: int | None = None,
    cache: dict | None = None,
    keep_output: bool = False,
    clock: str = "wall",
) -> TimingResult:
    """Time per call of ``fn(*args)`` without Python dispatch (method: module docstring).

    Args:
      fn: a JAX-traceable function; ``args`` may be pytrees (e.g. a CSR).
      calls: calls per execution of the jitted loop; chosen automatically when None so that one
        execution takes at least ``min_time_s`` (at most ``max_calls``).
      repeats: timed executions (the median is reported).
      warmup: untimed executions after compiling.
      min_time_s: target time of one execution when ``calls`` is automatic.
      max_calls: upper bound for the automatic ``calls``.
      calls_hint: with automatic ``calls``, a first guess (e.g. from the time of a similar
        problem): the loop is compiled once for it, and compiled again only when its first
        (warm-up) execution takes less than ``min_time_s / 4`` or more than ``4 * min_time_s``.
        Saves the ``calls = 1`` compile of the automatic search.
      cache: a dict kept by the caller across calls: compiled loops are reused for the same
        ``fn`` object and the same argument avals (shapes, dtypes) and non-array leaves, and the
        automatic ``calls`` chosen for them is reused as ``calls_hint``. ``fn`` must depend only
        on its arguments (and on nothing that changes between calls).
      keep_output: return the leaves of ``fn``'s output from the last timed execution as
        ``TimingResult.output`` (a list), e.g. to check it: it is ``fn(*args)``, computed by the
        very loop that was timed.
      clock: "wall" (host clock around each execution) or "device" (GPU busy time from the
        profiler; GPU only); see the module docstring. ``calls`` is chosen by the wall clock.
    """
    if clock not in CLOCKS:
        raise ValueError(f"time_per_call: clock must be one of {CLOCKS}, got {clock!r}")
    if repeats < 1:
        raise ValueError(f"time_per_call: repeats must be >= 1, got {repeats}")
    if warmup < 0:
        raise ValueError(f"time_per_call: warmup must be >= 0, got {warmup}")

    compiler = _Compiler(fn, args, cache)
    dynamic = compiler.dynamic
    max_calls = max(1, int(max_calls))
    if calls is None:
        guess = compiler.cached_calls()
        if guess is None and calls_hint is not None:
            guess = min(max_calls, max(1, int(calls_hint)))
        if guess is not None:
            n = guess
            compiled = compiler(n)
            t = _time_executions(compiled, dynamic, 1)[0]
            if (t < min_time_s / 4 and n < max_calls) or (t > 4 * min_time_s and n > 1):
                per_call = max(t / n, 1e-9)
                n = min(max_calls, max(1, math.ceil(1.2 * min_time_s / per_call)))
                compiled = compiler(n)
                _time_executions(compiled, dynamic, 1)  # first run after compile: warm up
        else:
            n = 1
            compiled = compiler(n)
            _time_executions(compiled, dynamic, max(1, warmup))
            for _ in range(4):
                t = min(_time_executions(compiled, dynamic, 3 if n == 1 else 1))
                if t >= min_time_s or n >= max_calls:
                    break
                per_call = max(t / n, 1e-9)
                # Aim 20% above the target so that noise does not leave us just below it.
                new_n = min(max_calls, max(n + 1, math.ceil(1.2 * min_time_s / per_call)))
                n = new_n
                compiled = compiler(n)
                _time_executions(compiled, dynamic, 1)  # first run after compile: warm up
        calls = n
        compiler.remember_calls(calls)
        remaining_warmup = max(0, warmup - 1)
    else:
        calls = int(calls)
        if calls < 1:
            raise ValueError(f"time_per_call: calls must be >= 1, got {calls}")
        compiled = compiler(calls)
        remaining_warmup = warmup

    _time_executions(compiled, dynamic, remaining_warmup)
    times, last = _time_executions(compiled, dynamic, repeats, keep_last=True)
    wall_median_s = statistics.median(times) / calls
    if clock == "device":
        times = _device_times(compiled, dynamic, repeats)
    per_call = tuple(t / calls for t in times)
    return TimingResult(
        median_s=statistics.median(per_call),
        min_s=min(per_call),
        max_s=max(per_call),
        mean_s=statistics.fmean(per_call),
        calls=calls,
        repeats=repeats,
        times_s=per_call,
        compile_s=compiler.compile_s,
        compiles=compiler.compiles,
        output=list(last) if keep_output else None,
        executable=compiled,
        clock=clock,
        wall_median_s=wall_median_s,
    )
