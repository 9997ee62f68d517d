"""Tests of the DLMC reader, the bundled matrices, the timing loop and the demo."""

import gzip
import math
import re

import numpy as np
import pytest

import jax
import jax.numpy as jnp

import jax_sparse_dl as jsdl
from jax_sparse_dl import demo, dlmc, timing

# A 4x5 pattern with an empty row (row 2) and a full-ish row.
SMALL_TEXT = "4, 5, 7\n0 2 3 3 7\n1 4 0 0 1 2 4\n"
SMALL_OFFSETS = [0, 2, 3, 3, 7]
SMALL_COLS = [1, 4, 0, 0, 1, 2, 4]


def _write(path, text):
    data = text.encode()
    if path.name.endswith(".gz"):
        data = gzip.compress(data)
    path.write_bytes(data)
    return path


# ----------------------------------------------------------------------------------- reading


@pytest.mark.parametrize("suffix", [".smtx", ".smtx.gz"])
def test_read_smtx_round_trip(tmp_path, suffix):
    path = _write(tmp_path / f"small{suffix}", SMALL_TEXT)
    p = dlmc.read_smtx(path)
    assert p.name == "small"
    assert p.shape == (4, 5)
    assert p.nnz == 7
    assert p.row_offsets.dtype == np.int32 and p.column_indices.dtype == np.int32
    np.testing.assert_array_equal(p.row_offsets, SMALL_OFFSETS)
    np.testing.assert_array_equal(p.column_indices, SMALL_COLS)
    assert dlmc.sparsity_of(p) == pytest.approx(1 - 7 / 20)

    # write_smtx -> read_smtx gives the same pattern, plain and gzipped.
    for out_suffix in (".smtx", ".smtx.gz"):
        out = dlmc.write_smtx(tmp_path / f"copy{out_suffix}", p)
        q = dlmc.read_smtx(out)
        assert q.name == "copy" and q.shape == p.shape
        np.testing.assert_array_equal(q.row_offsets, p.row_offsets)
        np.testing.assert_array_equal(q.column_indices, p.column_indices)
    assert gzip.decompress((tmp_path / "copy.smtx.gz").read_bytes()).decode().startswith("4, 5, 7\n")


def test_read_smtx_random_pattern_matches_scipy(tmp_path):
    import scipy.sparse

    rng = np.random.default_rng(0)
    m, k = 37, 53
    dense = rng.random((m, k)) < 0.2
    ref = scipy.sparse.csr_array(dense.astype(np.float64))
    text = f"{m}, {k}, {ref.nnz}\n{' '.join(map(str, ref.indptr))}\n{' '.join(map(str, ref.indices))}"
    p = dlmc.read_smtx(_write(tmp_path / "r.smtx.gz", text))
    np.testing.assert_array_equal(p.to_scipy().toarray() != 0, dense)


@pytest.mark.parametrize(
    "text", ["3, 4, 0\n0 0 0 0\n", "3, 4, 0\n0 0 0 0\n\n", "3, 4, 0\n0 0 0 0", "0, 0, 0\n0\n"]
)
def test_read_smtx_empty_matrix(tmp_path, text):
    p = dlmc.read_smtx(_write(tmp_path / "e.smtx", text))
    assert p.nnz == 0 and p.column_indices.shape == (0,)
    assert p.row_offsets.shape == (p.shape[0] + 1,)


def test_read_smtx_sorts_columns_within_rows(tmp_path):
    p = dlmc.read_smtx(_write(tmp_path / "u.smtx", "2, 4, 4\n0 2 4\n3 1 2 0\n"))
    np.testing.assert_array_equal(p.column_indices, [1, 3, 0, 2])


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "empty"),
        ("4, 5\n0 2 3 3 7\n1 4 0 0 1 2 4\n", "header"),
        ("a, b, c\n0\n\n", "header"),
        ("4, 5, -7\n0 2 3 3 7\n1 4 0 0 1 2 4\n", "header"),
        ("4, 5, 7\n0 2 3 7\n1 4 0 0 1 2 4\n", "row-offsets line has 4"),
        ("4, 5, 7\n0 2 3 3 6\n1 4 0 0 1 2\n", "last row offset is 6"),
        ("4, 5, 7\n1 2 3 3 7\n1 4 0 0 1 2 4\n", "first row offset"),
        ("4, 5, 7\n0 3 2 3 7\n1 4 0 0 1 2 4\n", "decrease"),
        ("4, 5, 7\n0 2 3 3 7\n1 4 0 0 1 2\n", "column-indices line has 6"),
        ("4, 5, 7\n0 2 3 3 7\n1 4 0 0 1 2 4 3\n", "column-indices line has 8"),
        ("4, 5, 7\n0 2 3 3 7\n1 5 0 0 1 2 4\n", "out of range"),
        ("4, 5, 7\n0 2 3 3 7\n1 1 0 0 1 2 4\n", "duplicate"),
        ("4, 5, 7\n0 2 3 3 7\n1 4 0 0 x 2 4\n", "non-integer"),
        ("4, 5, 7\n0 2 3 3 7\n", "missing the column-indices"),
        ("4, 5, 7\n0 2 3 3 7\n1 4 0 0 1 2 4\n5 5\n", "3 lines"),
        ("2, 2, 5\n0 2 5\n0 1 0 1 0\n", "exceeds"),
        ("2, 2, 3\n0 3 3\n0 1 1\n", "only 2 columns"),
    ],
)
@pytest.mark.parametrize("suffix", [".smtx", ".smtx.gz"])
def test_read_smtx_malformed(tmp_path, text, message, suffix):
    path = _write(tmp_path / f"bad{suffix}", text)
    with pytest.raises(ValueError, match=re.escape(message)) as info:
        dlmc.read_smtx(path)
    assert "bad" in str(info.value)  # the message names the file


def test_read_smtx_not_gzip(tmp_path):
    path = tmp_path / "plain.smtx.gz"
    path.write_text(SMALL_TEXT)
    with pytest.raises(ValueError, match="not gzip"):
        dlmc.read_smtx(path)
    truncated = tmp_path / "trunc.smtx.gz"
    truncated.write_bytes(gzip.compress(SMALL_TEXT.encode())[:-6])
    with pytest.raises(ValueError):
        dlmc.read_smtx(truncated)


def test_read_smtx_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        dlmc.read_smtx(tmp_path / "nope.smtx")


def test_find_matrices(tmp_path):
    (tmp_path / "a" / "0.9").mkdir(parents=True)
    (tmp_path / "a" / "0.7").mkdir(parents=True)
    f1 = _write(tmp_path / "a" / "0.9" / "x.smtx.gz", SMALL_TEXT)
    f2 = _write(tmp_path / "a" / "0.7" / "y.smtx", SMALL_TEXT)
    _write(tmp_path / "a" / "notes.txt", "not a matrix")
    other = _write(tmp_path / "other.dat", SMALL_TEXT)

    assert dlmc.find_matrices(tmp_path / "a") == [f2, f1]  # sorted by path, recursive
    assert dlmc.find_matrices(str(f1)) == [f1]
    assert dlmc.find_matrices([f1, tmp_path / "a", other]) == [f1, f2, other]  # no duplicates
    assert dlmc.find_matrices([]) == []
    with pytest.raises(FileNotFoundError):
        dlmc.find_matrices([tmp_path / "missing"])


def test_load_csr(tmp_path):
    path = _write(tmp_path / "small.smtx", SMALL_TEXT)
    A = dlmc.load_csr(path, jax.random.key(0))
    assert isinstance(A, jsdl.CSR)
    assert A.shape == (4, 5) and A.nnz == 7 and A.dtype == jnp.float32
    dense = np.asarray(A.todense())
    expected = np.zeros((4, 5), bool)
    rows = np.repeat(np.arange(4), np.diff(SMALL_OFFSETS))
    expected[rows, SMALL_COLS] = True
    np.testing.assert_array_equal(dense != 0, expected)
    # Same key, pattern object instead of a path: same values.
    B = dlmc.load_csr(dlmc.read_smtx(path), jax.random.key(0))
    np.testing.assert_array_equal(np.asarray(B.values), np.asarray(A.values))
    assert np.all(np.isfinite(np.asarray(A.values))) and np.std(np.asarray(A.values)) > 0
    C = dlmc.load_csr(path, jax.random.key(1), dtype=jnp.bfloat16)
    assert C.dtype == jnp.bfloat16 and C.values.shape == (7,)


def test_bundled_matrices():
    paths = dlmc.bundled_matrices()
    assert 4 <= len(paths) <= 6
    assert sum(p.stat().st_size for p in paths) < 300_000
    assert (paths[0].parent / "README.md").is_file()
    for i, path in enumerate(paths):
        pattern = dlmc.read_smtx(path)
        level = float(re.search(r"_(0\.\d+)_", path.name).group(1))  # names carry the level
        assert dlmc.sparsity_of(pattern) == pytest.approx(level, abs=5e-3)
        A = dlmc.load_csr(path, jax.random.key(i))
        assert A.shape == pattern.shape and A.nnz == pattern.nnz
        assert dlmc.sparsity_of(A) == pytest.approx(level, abs=5e-3)
        np.testing.assert_array_equal(np.asarray(A.row_offsets), pattern.row_offsets)
        np.testing.assert_array_equal(np.asarray(A.column_indices), pattern.column_indices)


# ------------------------------------------------------------------------------------ timing


def test_time_per_call_basic():
    x = jnp.ones((64, 64), jnp.float32)
    r = timing.time_per_call(lambda a: a @ a, x, calls=3, repeats=4, warmup=1)
    assert r.calls == 3 and r.repeats == 4 and len(r.times_s) == 4
    assert math.isfinite(r.median_s) and r.median_s > 0
    assert 0 < r.min_s <= r.median_s <= r.max_s
    assert r.median_us == pytest.approx(r.median_s * 1e6)


def test_time_per_call_automatic_calls():
    x = jnp.ones((32,), jnp.float32)
    r = timing.time_per_call(lambda a: a * 2.0 + 1.0, x, repeats=2, min_time_s=0.005, max_calls=500)
    assert 1 <= r.calls <= 500
    assert math.isfinite(r.median_s) and r.median_s > 0


def test_time_per_call_pytree_args():
    A = jsdl.random_csr(jax.random.key(0), (32, 48), sparsity=0.8)
    x = jax.random.normal(jax.random.key(1), (48, 16))
    r = timing.time_per_call(lambda a, b, scale: jsdl.spmm(a, b) * scale, A, x, 2.0, calls=2, repeats=2)
    assert math.isfinite(r.median_s) and r.median_s > 0


def _has_cpu_device():
    try:
        return bool(jax.devices("cpu"))
    except RuntimeError:
        return False


@pytest.mark.skipif(not _has_cpu_device(), reason="jax.debug.callback needs a CPU device "
                    "(JAX_PLATFORMS excludes cpu); the HLO and timing tests below cover the loop")
def test_loop_runs_fn_calls_times():
    count = [0]

    def fn(a, scale):
        jax.debug.callback(lambda: count.__setitem__(0, count[0] + 1))
        return a * scale

    looped, dynamic = timing.make_loop(fn, jnp.ones(3), 2.0, calls=7)
    out = jax.block_until_ready(looped(dynamic))
    assert count[0] == 7
    np.testing.assert_allclose(np.asarray(out[0]), 2.0)  # inputs are not changed by the loop


def _hlo_computations(hlo: str):
    """{name: [instruction lines]} and the entry's name, from an HLO module's text."""
    comps, entry, current = {}, None, None
    for line in hlo.splitlines():
        header = re.match(r"^(ENTRY\s+)?%?([\w.\-]+)\s*\(.*\{\s*$", line)
        if header and not line[:1].isspace():
            current = header.group(2)
            comps[current] = []
            if header.group(1):
                entry = current
        elif line.startswith("}"):
            current = None
        elif current is not None:
            comps[current].append(line)
    return comps, entry


_CALLEE = re.compile(r"\b(calls|to_apply|body|condition|branch_computations|called_computations)=\{?([^,}\s]+(?:,\s*%[\w.\-]+)*)")
_MATMUL = re.compile(r"\b(dot|convolution)\(|custom_call_target=\"[^\"]*(gemm|matmul)", re.IGNORECASE)


def _reachable(comps, start, follow_while_body):
    seen, todo = set(), [start]
    while todo:
        name = todo.pop()
        if name in seen or name not in comps:
            continue
        seen.add(name)
        for line in comps[name]:
            for kind, targets in _CALLEE.findall(line):
                if kind in ("body", "condition") and not follow_while_body:
                    continue
                todo += [t.strip().lstrip("%") for t in targets.split(",")]
    return seen


def test_loop_is_not_hoisted_hlo():
    # In the optimized HLO the matmul is inside the while loop's body and nowhere outside it:
    # without the optimization barrier XLA may hoist a loop-invariant fn(*args) out of the loop.
    a = jnp.ones((128, 128), jnp.float32)
    looped, dynamic = timing.make_loop(lambda p, q: jnp.tanh(p @ q), a, a, calls=8)
    comps, entry = _hlo_computations(looped.lower(dynamic).compile().as_text())
    assert entry is not None
    bodies = [m.group(1) for lines in comps.values() for line in lines
              for m in [re.search(r"\bwhile\(.*\bbody=%?([\w.\-]+)", line)] if m]
    assert bodies, "no while loop in the compiled module"
    inside = set().union(*(_reachable(comps, b, True) for b in bodies))
    outside = _reachable(comps, entry, False) - inside
    assert any(_MATMUL.search(line) for c in inside for line in comps[c])
    assert not any(_MATMUL.search(line) for c in outside for line in comps[c])


def test_loop_time_grows_with_calls():
    # Timing check of the same property, loose: 32 calls per execution take clearly longer than 2
    # (about 16x when the kernel dominates; a hoisted loop would give about 1x).
    size = 256 if jax.default_backend() == "cpu" else 2048
    a = jax.random.normal(jax.random.key(0), (size, size))
    fn = lambda p, q: jnp.tanh(jnp.dot(p, q, precision=jax.lax.Precision.HIGHEST))  # noqa: E731
    few = timing.time_per_call(fn, a, a, calls=2, repeats=5, warmup=2)
    many = timing.time_per_call(fn, a, a, calls=32, repeats=5, warmup=2)
    assert many.min_s * 32 > 4 * (few.min_s * 2)


def test_time_per_call_bad_arguments():
    with pytest.raises(ValueError):
        timing.time_per_call(lambda a: a, jnp.ones(2), calls=0)
    with pytest.raises(ValueError):
        timing.time_per_call(lambda a: a, jnp.ones(2), repeats=0)


def test_time_per_call_bad_clock_and_device_clock_without_gpu():
    with pytest.raises(ValueError, match="clock"):
        timing.time_per_call(lambda a: a, jnp.ones(2), calls=1, clock="gpu")
    if jax.default_backend() != "gpu":
        with pytest.raises(RuntimeError, match="needs a GPU profile"):
            timing.time_per_call(lambda a: a * 2, jnp.ones(2), calls=2, repeats=1,
                                 clock="device")


def test_busy_time_is_the_union_of_intervals():
    assert timing._busy_ns([]) == 0.0
    assert timing._busy_ns([(0, 5), (3, 7)]) == 7  # overlap counted once
    assert timing._busy_ns([(0, 10), (2, 4)]) == 10  # nested
    assert timing._busy_ns([(20, 30), (0, 5), (5, 6)]) == 16  # unsorted, touching, a gap
    rng = np.random.default_rng(0)
    starts = rng.integers(0, 1000, 200)
    iv = [(int(a), int(a + b)) for a, b in zip(starts, rng.integers(0, 30, 200))]
    grid = np.zeros(1100, bool)  # unit cells covered by some interval
    for a, b in iv:
        grid[a:b] = True
    assert timing._busy_ns(iv) == grid.sum()


def _xspace(planes, name="k"):
    """A text XSpace: planes = [(plane name, [(line name, [(start ns, duration ns)])])], every
    event called ``name``."""
    out = []
    for pi, (pname, lines) in enumerate(planes):
        body = "".join(
            f'lines {{ id: {li} name: "{lname}" timestamp_ns: 1000 '
            + "".join(f"events {{ metadata_id: 1 offset_ps: {s * 1000} duration_ps: {d * 1000} }} "
                      for s, d in events) + "} "
            for li, (lname, events) in enumerate(lines))
        out.append(f'planes {{ id: {pi} name: "{pname}" {body}'
                   f'event_metadata {{ key: 1 value {{ id: 1 name: "{name}" }} }} }}')
    return " ".join(out)


def test_device_busy_time_reads_the_gpu_stream_lines():
    from jax.profiler import ProfileData
    space = _xspace([
        ("/device:GPU:0", [("Stream #13(Compute)", [(0, 50), (40, 20), (100, 10)]),
                           ("Stream #14(MemcpyD2D)", [(200, 5)]),
                           ("XLA Ops", [(0, 500)]), ("XLA Modules", [(0, 600)])]),
        ("/device:GPU:1", [("Stream #7", [(10, 30), (300, 15)])]),
        ("/host:CPU", [("python", [(0, 10_000)])]),
    ])
    busy = timing.device_busy_s(ProfileData.from_text_proto(space))
    # one clock for all planes: GPU 1's first event lies within GPU 0's first 60 ns
    assert busy == pytest.approx((60 + 10 + 5 + 15) * 1e-9)
    # per execution: the events that start within each host annotation's span
    windows = [(1000, 1090), (1095, 1400)]  # the lines start at 1000 ns
    assert timing.device_busy_s(ProfileData.from_text_proto(space), windows) == pytest.approx(
        [60e-9, 30e-9])
    for space in ([("/host:CPU", [("python", [(0, 10)])])],  # no GPU plane
                  [("/device:GPU:0", [("XLA Ops", [(0, 10)])])]):  # no stream line
        with pytest.raises(RuntimeError, match="needs a GPU profile"):
            timing.device_busy_s(ProfileData.from_text_proto(_xspace(space)))


@pytest.mark.gpu
@pytest.mark.skipif(jax.default_backend() != "gpu", reason="the device clock needs a GPU")
def test_device_clock_is_kernel_time():
    # A float32 matmul of about 1 ms a call: GPU busy time and wall time nearly agree (wall adds
    # only the launch gaps; loose bounds, other test workers may share the GPU); a 4-element
    # add: the busy time is far below the wall time (XLA's launch work per call), not zero.
    a = jax.random.normal(jax.random.key(0), (4096, 4096))
    big = timing.time_per_call(lambda p: jnp.dot(p, p, precision="highest"), a, calls=20,
                               repeats=3, clock="device")
    assert big.clock == "device"
    assert 0.5 * big.wall_median_s < big.median_s < 1.5 * big.wall_median_s
    tiny = timing.time_per_call(lambda p: p + 1.0, jnp.ones(4), calls=200, repeats=3,
                                clock="device")
    assert 0 < tiny.median_s < 0.5 * tiny.wall_median_s


@pytest.mark.gpu
@pytest.mark.skipif(jax.default_backend() != "gpu", reason="the device clock needs a GPU")
def test_device_clock_splits_one_session_by_execution():
    # One profiler session: every execution's annotation is found and its span holds that
    # execution's GPU events (else time_per_call raises).
    looped, dynamic = timing.make_loop(lambda p: jnp.tanh(p @ p), jnp.ones((512, 512)), calls=50)
    compiled = looped.lower(dynamic).compile()
    profile = timing._profiled_executions(compiled, dynamic, 4)
    windows = timing._execution_windows(profile)
    assert len(windows) == 4
    per = timing.device_busy_s(profile, windows)
    assert all(t > 0 for t in per)
    assert sum(per) == pytest.approx(timing.device_busy_s(profile), rel=1e-6)
    assert max(per) < 2 * min(per)


def test_execution_windows_are_the_host_annotations():
    from jax.profiler import ProfileData
    marks = _xspace([("/host:CPU", [("python", [(500, 100), (0, 200)])])], timing._EXECUTION)
    assert timing._execution_windows(ProfileData.from_text_proto(marks)) == [(1000, 1200),
                                                                             (1500, 1600)]
    other = _xspace([("/host:CPU", [("python", [(0, 200)])])], "something else")
    assert timing._execution_windows(ProfileData.from_text_proto(other)) == []


# -------------------------------------------------------------------------------------- demo


def _smallest_bundled():
    return min(dlmc.bundled_matrices(), key=lambda p: dlmc.read_smtx(p).nnz)


def test_demo_main_one_matrix(capsys):
    path = _smallest_bundled()
    rc = demo.main(["--matrices", str(path), "--n", "8", "--repeats", "2", "--min-time", "0.002"])
    out = capsys.readouterr().out
    assert rc == 0, out
    name = dlmc.read_smtx(path).name
    assert name in out
    assert "jsdl us" in out and "x dense" in out and "CUDA kernels loaded" in out
    assert "OK" in out.splitlines()[-1]


def test_demo_no_timing_and_failure_status(capsys, tmp_path):
    path = _smallest_bundled()
    assert demo.main(["--matrices", str(path), "--n", "4", "--no-timing"]) == 0
    out = capsys.readouterr().out
    assert "err spmm" in out and "jsdl us" not in out
    # A tolerance no float32 result meets: exit status 1 and the problem is printed.
    assert demo.main(["--matrices", str(path), "--n", "4", "--no-timing", "--tol", "0"]) == 1
    out = capsys.readouterr().out
    assert "exceeds" in out and "FAILED" in out
    # Missing input: status 2.
    assert demo.main(["--matrices", str(tmp_path / "missing.smtx")]) == 2
