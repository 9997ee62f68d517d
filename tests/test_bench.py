"""Tests of the benchmark (jax_sparse_dl.bench): problem planning, the summary logic, the
timing-loop cache, and quick end-to-end runs on bundled matrices (any backend; fast on CPU)."""

import gzip
import json
import math

import numpy as np
import pytest

import jax
import jax.numpy as jnp

import jax_sparse_dl as jsdl
from jax_sparse_dl import dlmc, timing
from jax_sparse_dl.bench import problems as P
from jax_sparse_dl.bench import report
from jax_sparse_dl.bench.__main__ import main as bench_main
from jax_sparse_dl.bench.common import TOLERANCES, rel_err
from jax_sparse_dl.bench.contenders import Contender
from jax_sparse_dl.bench.results import load_results, peak_fp32_tflops
from jax_sparse_dl.bench.run import Config, run


def _smtx(path, m, k, nnz_per_row=1):
    """A small valid .smtx(.gz) file with nnz_per_row entries in every row."""
    path.parent.mkdir(parents=True, exist_ok=True)
    offsets = " ".join(str(i * nnz_per_row) for i in range(m + 1))
    cols = " ".join(str(c) for _ in range(m) for c in range(nnz_per_row))
    text = f"{m}, {k}, {m * nnz_per_row}\n{offsets}\n{cols}\n".encode()
    path.write_bytes(gzip.compress(text) if path.name.endswith(".gz") else text)
    return path


# ------------------------------------------------------------------------------ planning


def test_describe_matrix_from_path(tmp_path):
    t = P.describe_matrix(_smtx(tmp_path / "dlmc/transformer/magnitude_pruning/0.9/ffn.smtx.gz",
                                8, 10))
    assert (t.suite, t.method, t.level, t.level_source, t.name) == (
        "transformer", "magnitude_pruning", 0.9, "path", "ffn")
    assert (t.m, t.k, t.nnz) == (8, 10, 8)
    r = P.describe_matrix(_smtx(tmp_path / "rn50/random_pruning/0.98/initial_conv.smtx", 4, 50))
    assert (r.suite, r.method, r.level, r.base) == ("rn50", "random_pruning", 0.98, "initial_conv")
    # Bundled naming: <suite>_<level>_<name>; the name in the collection is the rest.
    b = P.describe_matrix(_smtx(tmp_path / "rn50_0.9_bottleneck_3_block_group3_3_1.smtx.gz", 4, 5))
    assert (b.suite, b.level, b.base) == ("rn50", 0.9, "bottleneck_3_block_group3_3_1")
    # Anything else: suite "other", level from nnz (1 - 8 / 80 = 0.9).
    o = P.describe_matrix(_smtx(tmp_path / "misc/mine.smtx", 8, 10))
    assert (o.suite, o.level, o.level_source) == ("other", 0.9, "nnz")
    assert dlmc.read_smtx_header(tmp_path / "misc/mine.smtx") == (8, 10, 8)


def test_bundled_matrices_are_described():
    mats = P.discover([])
    assert {m.suite for m in mats} == {"transformer", "rn50"}
    for m in mats:
        assert m.level_source == "path" and m.sparsity == pytest.approx(m.level, abs=5e-3)


def test_batchsizes_embedded_and_found(tmp_path):
    sizes = P.load_batchsizes(P.embedded_batchsizes())
    assert len(sizes) == 54
    assert sizes["initial_conv"] == 12544 and sizes["final_dense"] == 1
    assert sizes["bottleneck_3_block_group3_3_1"] == 196
    (tmp_path / "dlmc").mkdir()
    (tmp_path / "dlmc" / "rn50_batchsizes.txt").write_text("layer_a,7\n\n# comment\nlayer_b, 3\n")
    f = _smtx(tmp_path / "dlmc/rn50/magnitude_pruning/0.8/layer_a.smtx.gz", 4, 4)
    found = tmp_path / "dlmc" / "rn50_batchsizes.txt"
    assert P.find_batchsizes([f]) == found
    assert P.find_batchsizes([tmp_path / "dlmc" / "rn50"]) == found
    assert P.load_batchsizes(found) == {"layer_a": 7, "layer_b": 3}
    (tmp_path / "bad.txt").write_text("layer_a 7\n")
    with pytest.raises(ValueError, match="name,N"):
        P.load_batchsizes(tmp_path / "bad.txt")


def test_spmm_and_sddmm_sizes(tmp_path):
    sizes = P.load_batchsizes(P.embedded_batchsizes())
    t = P.describe_matrix(_smtx(tmp_path / "transformer/magnitude_pruning/0.7/q.smtx", 4, 4))
    assert P.spmm_sizes(t, batchsizes=sizes) == [(256, "N=256"), (2048, "N=2048")]
    r = P.describe_matrix(_smtx(tmp_path / "rn50/magnitude_pruning/0.7/initial_conv.smtx", 4, 4))
    assert P.spmm_sizes(r, batchsizes=sizes) == [(12544, "batch 1"),
                                                  (12544 * 256, "batch 256")]
    f = P.describe_matrix(_smtx(tmp_path / "rn50/magnitude_pruning/0.7/final_dense.smtx", 4, 4))
    assert P.spmm_sizes(f, batchsizes=sizes, rn50_batches=(1, 256)) == [(1, "batch 1"),
                                                                        (256, "batch 256")]
    unknown = P.describe_matrix(_smtx(tmp_path / "rn50/magnitude_pruning/0.7/nope.smtx", 4, 4))
    assert [n for n, _ in P.spmm_sizes(unknown, batchsizes=sizes)] == [256]
    o = P.describe_matrix(_smtx(tmp_path / "other.smtx", 4, 4))
    assert P.spmm_sizes(o, batchsizes=sizes) == [(256, "N=256")]
    assert P.spmm_sizes(r, n_values=(8, 16), batchsizes=sizes) == [(8, "N=8"), (16, "N=16")]
    plan = P.plan_problems([t, r], ("spmm", "sddmm"), batchsizes=sizes)
    ops = [(p.op, p.size) for p in plan[0][1]]
    assert ops == [("spmm", 256), ("spmm", 2048), ("sddmm", 64), ("sddmm", 256), ("sddmm", 2048)]
    assert [p.size for p in plan[1][1] if p.op == "spmm"] == [12544, 12544 * 256]
    p = plan[0][1][0]
    assert p.flops == 2 * t.nnz * 256 and p.dense_flops == 2 * 4 * 4 * 256


def test_select_per_level_spread_and_round_robin(tmp_path):
    mats = []
    for level in ("0.8", "0.9"):
        for i in range(10):
            mats.append(P.describe_matrix(_smtx(
                tmp_path / f"transformer/magnitude_pruning/{level}/m{i:02d}.smtx", 4, 4)))
    for i in range(3):
        mats.append(P.describe_matrix(_smtx(tmp_path / f"rn50/magnitude_pruning/0.9/r{i}.smtx",
                                            4, 4)))
    picked = P.select_per_level(mats, 4)
    assert len(picked) == 4 + 4 + 3
    t08 = [m.name for m in picked if m.suite == "transformer" and m.level == 0.8]
    assert t08 == ["m00", "m02", "m05", "m07"]  # floor(i * 10 / 4)
    # Round-robin: the first pass has one matrix of every group, alternating suites.
    assert [(m.suite, m.level) for m in picked[:3]] == [("transformer", 0.8), ("rn50", 0.9),
                                                        ("transformer", 0.9)]
    assert P.select_per_level(list(reversed(mats)), 4) == picked  # deterministic
    assert len(P.select_per_level(mats, None)) == len(mats)


def test_select_per_level_takes_turns_over_shapes(tmp_path):
    """Like the DLMC transformer levels (6 matrices of 512 x 512, 3 of 2048 x 512 and 3 of
    512 x 2048): one matrix a level gives consecutive levels different shapes, three give one of
    each, five spread each shape's picks over its files."""
    levels = ("0.5", "0.6", "0.7", "0.8")
    mats = []
    for level in levels:
        for name, (m, k), count in (("attn", (8, 8), 6), ("ffn1", (32, 8), 3), ("ffn2", (8, 32), 3)):
            for i in range(count):
                mats.append(P.describe_matrix(_smtx(
                    tmp_path / f"transformer/magnitude_pruning/{level}/{name}{i}.smtx", m, k)))
    one = sorted(P.select_per_level(mats, 1), key=lambda m: m.level)
    assert [(m.m, m.k) for m in one] == [(8, 8), (8, 32), (32, 8), (8, 8)]
    three = [m for m in P.select_per_level(mats, 3) if m.level == 0.6]
    assert sorted((m.m, m.k) for m in three) == [(8, 8), (8, 32), (32, 8)]
    five = [m.name for m in P.select_per_level(mats, 5) if m.level == 0.5]
    assert sorted(five) == ["attn0", "attn3", "ffn10", "ffn20", "ffn21"]
    assert len(P.select_per_level(mats, 12)) == len(mats) and len(P.select_per_level(mats, 20)) == 48


def test_spread_order_prefixes_span_the_range(tmp_path):
    levels = [0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.98]
    order = P.spread_order(levels)
    assert sorted(order) == levels and order[:3] == [0.5, 0.98, 0.8]
    # Every prefix of 3 or more holds both ends and a level of the middle third.
    for n in range(3, len(levels) + 1):
        assert {0.5, 0.98} <= set(order[:n]) and any(0.7 <= x <= 0.8 for x in order[:n])
    assert P.spread_order([]) == [] and P.spread_order([2, 1]) == [2, 1]
    # The benchmark's matrix order: one suite's levels come spread, not ascending.
    mats = [P.describe_matrix(_smtx(tmp_path / f"transformer/magnitude_pruning/{lv}/m.smtx", 4, 4))
            for lv in levels]
    assert [m.level for m in P.select_per_level(mats, 1)] == order


def test_attention_pattern_rows_are_similar():
    offsets, cols = P.attention_pattern(512, 0.95, seed=3)
    lengths = np.diff(offsets)
    assert lengths.min() >= 1 and abs(lengths.mean() - 0.05 * 512) <= 2
    assert lengths.max() - lengths.min() <= 4
    for r in range(0, 512, 97):
        row = cols[offsets[r]:offsets[r + 1]]
        assert np.all(np.diff(row) > 0) and row.max() < 512


def test_peak_table():
    assert peak_fp32_tflops("NVIDIA H100 80GB HBM3")[0] == 66.9
    assert peak_fp32_tflops("NVIDIA H200")[0] == 66.9
    assert peak_fp32_tflops("NVIDIA H100 PCIe")[0] == 51.2
    assert peak_fp32_tflops("cpu") == (None, peak_fp32_tflops("cpu")[1])
    assert peak_fp32_tflops("cpu", 10.0)[0] == 10.0


# --------------------------------------------------------------------------------- summary


def _rec(problem, contender, us, suite="transformer", level=0.9, status="ok", n_class="N=256",
         op="spmm", tflops=None):
    return {"op": op, "problem": f"{op}|{suite}|{level}|{problem}", "suite": suite,
            "level": level, "n_class": n_class, "matrix": problem, "contender": contender,
            "median_us": us, "status": status, "tflops": tflops if tflops is not None else 1.0 / us,
            "pct_peak": 10.0 / us, "dtype": "float32", "reason": "" if status == "ok" else "x"}


def test_summary_geomean_and_crossover():
    recs = []
    # transformer 0.8: jsdl 2x slower than dense on both problems; 0.9: 2x and 8x faster.
    for i, (lvl, ratio) in enumerate([(0.8, 0.5), (0.8, 0.5), (0.9, 2.0), (0.9, 8.0)]):
        recs += [_rec(f"p{i}", "jsdl_f32_highest", 10.0, level=lvl),
                 _rec(f"p{i}", "dense_f32_highest", 10.0 * ratio, level=lvl),
                 _rec(f"p{i}", "cusparse_best", 30.0, level=lvl)]
    # A mismatching contender is not counted, a lone contender without jsdl neither.
    recs.append(_rec("p0", "bcsr", 1.0, level=0.8, status="mismatch"))
    recs.append(_rec("q", "dense_f32_highest", 5.0, level=0.95))
    s = report.summarize(recs)
    rows = {key: cells for key, cells in s["spmm"]["speedup"]}
    c = ("jsdl_f32_highest", "dense_f32_highest")
    assert rows[("transformer", 0.8)][c] == (pytest.approx(0.5), 2)
    assert rows[("transformer", 0.9)][c] == (pytest.approx(4.0), 2)
    assert rows[("transformer", "all")][c] == (pytest.approx((0.5 * 0.5 * 2 * 8) ** 0.25), 4)
    assert rows[("all", "all")][("jsdl_f32_highest", "cusparse_best")] == (pytest.approx(3.0), 4)
    assert ("jsdl_f32_highest", "bcsr") in s["spmm"]["comparisons"]
    assert rows[("all", "all")][("jsdl_f32_highest", "bcsr")] == (None, 0)
    assert s["spmm"]["crossover"][("transformer", "N=256")][c] == ">= 0.9"
    assert len(s["bad"]) == 1 and s["bad"][0]["contender"] == "bcsr"
    assert report.geomean([2.0, 8.0]) == pytest.approx(4.0)
    assert report._crossover({0.5: 1.2, 0.7: 0.9, 0.9: 1.5}) == ">= 0.9"
    assert report._crossover({0.5: 1.2, 0.9: 1.5}) == "all levels (>= 0.5)"
    assert report._crossover({0.5: 1.2, 0.9: 0.5}).startswith("never")
    tp = {key: cells for key, cells in s["spmm"]["throughput"]}
    assert tp[("transformer", "N=256", 0.9)]["jsdl_f32_highest"][0] == pytest.approx(0.1)
    md = report.render_markdown(s, {"tolerances": TOLERANCES})
    assert "MISMATCH" in md and "| transformer | 0.9 |" in md and "4.00 (2)" in md
    assert ">= 0.9" in md
    text = "\n".join(report.text_tables(s))
    assert "jsdl_f32_highest/dense_f32_highest" in text and "mismatches" in text


def _targets(recs):
    from jax_sparse_dl.bench.targets import judge_targets
    return {target: (measured, verdict)
            for target, measured, verdict in judge_targets(report.summarize(recs))}


def test_issue_targets_are_judged():
    from jax_sparse_dl.bench.targets import TARGETS
    cusparse, tflops, default = TARGETS[0].text, TARGETS[2].text, TARGETS[3].text
    sddmm, softmax = TARGETS[5].text, TARGETS[-1].text
    recs = []
    # transformer N=2048: 2.5x cuSPARSE; jsdl DEFAULT loses to dense at 0.7 only, wins from 0.8.
    for i, (lvl, dense_ratio) in enumerate([(0.7, 0.5), (0.8, 1.5), (0.9, 3.0)]):
        recs += [_rec(f"p{i}", "jsdl_f32_highest", 10.0, level=lvl, n_class="N=2048",
                      tflops=12.0),
                 _rec(f"p{i}", "cusparse_best", 25.0, level=lvl, n_class="N=2048"),
                 _rec(f"p{i}", "jsdl_f32_default", 10.0, level=lvl, n_class="N=2048"),
                 _rec(f"p{i}", "dense_f32_default", 10.0 * dense_ratio, level=lvl,
                      n_class="N=2048")]
    got = _targets(recs)
    assert got[cusparse] == ("2.50x (3 problems)", "met")
    assert got[tflops] == ("12 TFLOP/s (3 problems)", "met")
    assert got[default][1] == "met" and "wins (lowest 1.50x)" in got[default][0]
    assert got[softmax] == ("-", "not measured")
    assert got[sddmm] == ("-", "not measured")  # no SDDMM in this run
    # rn50 batch 1 loses at 0.9, above the threshold: missed, and said where.
    recs += [_rec("q", "jsdl_f32_default", 10.0, suite="rn50", level=0.9, n_class="batch 1"),
             _rec("q", "dense_f32_default", 9.0, suite="rn50", level=0.9, n_class="batch 1"),
             _rec("q", "jsdl_f32_highest", 10.0, suite="rn50", level=0.9, n_class="batch 1"),
             _rec("q", "cusparse_best", 5.0, suite="rn50", level=0.9, n_class="batch 1")]
    got = _targets(recs)
    assert got[default][1] == "missed" and "rn50 batch 1: loses at 0.9 (lowest 0.90x)" \
        in got[default][0]
    assert got[cusparse][1] == "missed"  # (2.5^3 * 0.5)^(1/4) = 1.67
    assert got[cusparse][0].startswith("1.67x (4")
    assert got[tflops][1] == "met"  # rn50 is not in the transformer's median
    # The softmax target reads the jsdl float32 record's share of copy bandwidth.
    soft = [{"op": "softmax", "contender": "jsdl_f32", "status": "ok", "median_us": 70.0,
             "pct_copy_bw": 69.0, "heads": 8, "seq": 8192, "level": 0.95}]
    assert _targets(soft)[softmax] == (
        "69.0% (8 heads, sequence 8192, sparsity 0.95)", "missed")
    # summary.md shows the measured targets on a GPU run only.
    s = report.summarize(recs)
    assert "Issue 3's targets" in report.render_markdown(s, {"backend": "gpu"})
    assert "Issue 3's targets" not in report.render_markdown(s, {"backend": "cpu"})
    assert "missed  SpMM float32 DEFAULT" in "\n".join(report.text_tables(s, {"backend": "gpu"}))
    # A run stopped early says so beside every verdict: it settles no target.
    stopped = {"backend": "gpu", "stopped": {"problems_done": 4, "problems_planned": 9}}
    assert "| met on 4 of 9 problems (stopped early) |" in report.render_markdown(s, stopped)
    assert "missed on 4 of 9 problems (stopped early)  SpMM float32 DEFAULT" in "\n".join(
        report.text_tables(s, stopped))


def test_results_csv_alone_is_read_back(tmp_path):
    from jax_sparse_dl.bench.results import write_csv
    recs = [_rec("p", "jsdl_f32_highest", 10.0, level=0.8, n_class="N=2048"),
            _rec("p", "cusparse_best", 30.0, level=0.8, n_class="N=2048")]
    write_csv(tmp_path / "results.csv", recs)
    metadata, back = load_results(tmp_path)
    assert metadata == {} and back[1]["median_us"] == 30.0 and back[0]["level"] == 0.8
    assert back[0]["reason"] is None and back[0]["n_class"] == "N=2048"
    rows = dict(report.summarize(back)["spmm"]["speedup"])
    assert rows[("all", "all")][("jsdl_f32_highest", "cusparse_best")] == (pytest.approx(3.0), 1)


def test_plots_when_matplotlib_is_there(tmp_path):
    pytest.importorskip("matplotlib")
    from jax_sparse_dl.bench.plots import make_plots
    recs = []
    for i, lvl in enumerate([0.7, 0.9, 0.98]):
        recs += [_rec(f"p{i}", "jsdl_f32_highest", 10.0, level=lvl),
                 _rec(f"p{i}", "dense_f32_highest", 5.0 + 10 * i, level=lvl)]
    files = make_plots(report.summarize(recs), tmp_path)
    assert sorted(f.name for f in files) == ["spmm_peak.png", "spmm_speedup.png"]
    assert all(f.stat().st_size > 1000 for f in files)


def test_rel_err():
    assert rel_err(np.ones(4, np.float32), np.ones(4)) == 0.0
    assert rel_err(jnp.asarray([1.0, 2.0], jnp.bfloat16), [1.0, 2.0]) == 0.0
    assert rel_err([np.nan], [1.0]) == math.inf
    with pytest.raises(ValueError):
        rel_err(np.ones(3), np.ones(4))


# ---------------------------------------------------------------------------------- timing


def test_time_per_call_cache_hint_and_output():
    cache = {}
    fn = lambda a, b: a @ b  # noqa: E731
    a = jnp.ones((16, 16), jnp.float32)
    r1 = timing.time_per_call(fn, a, a, repeats=2, warmup=1, min_time_s=0.001, cache=cache,
                              keep_output=True)
    assert r1.compiles >= 1
    np.testing.assert_allclose(np.asarray(r1.output[0]), 16.0)
    b = 2 * jnp.ones((16, 16), jnp.float32)  # same shapes: loop and calls come from the cache
    r2 = timing.time_per_call(fn, b, b, repeats=2, warmup=1, min_time_s=0.001, cache=cache,
                              keep_output=True)
    np.testing.assert_allclose(np.asarray(r2.output[0]), 64.0)  # the new inputs were used
    assert r2.output is not None
    # The cached calls are reused (no compile) unless the first timing left the accepted band
    # (a busy machine): then it recalibrates once.
    assert (r2.compiles == 0 and r2.calls == r1.calls) or r2.compiles == 1
    r3 = timing.time_per_call(fn, jnp.ones((8, 8)), jnp.ones((8, 8)), repeats=2, warmup=1,
                              min_time_s=0.001, calls_hint=5)
    assert r3.compiles in (1, 2) and r3.output is None and r3.calls >= 1
    assert timing.time_per_call(fn, a, a, calls=3, repeats=1).compiles == 1


# ------------------------------------------------------------------------------ end to end


def _two_bundled():
    paths = dlmc.bundled_matrices()
    t = next(p for p in paths if "transformer_0.9_enc0_self_attn_k" in p.name)
    r = next(p for p in paths if p.name.startswith("rn50"))
    return [str(t), str(r)]


@pytest.mark.skipif(jax.default_backend() == "gpu", reason="the CPU backend's gating")
def test_cusparse_contenders_skip_off_the_gpu(monkeypatch):
  # A build with the cuSPARSE module, run on the CPU: its FFI targets exist for CUDA only, so the
  # contenders are skipped with the reason, not run into "No FFI handler" errors (session 45).
  from jax_sparse_dl import cusparse
  from jax_sparse_dl.bench import contenders
  monkeypatch.setattr(cusparse, "available", lambda: True)
  env = contenders.detect_env()
  assert env.cusparse is None and "GPU only" in env.cusparse_reason


def test_quick_run_end_to_end(tmp_path, capsys):
    out = tmp_path / "res"
    rc = bench_main(["--quick", *_two_bundled(), "--out", str(out), "--no-plots",
                     "--softmax-seq", "256"])
    text = capsys.readouterr().out
    assert rc == 0, text
    for name in ("results.json", "results.csv", "results.jsonl", "summary.md"):
        assert (out / name).is_file(), name
    metadata, records = load_results(out)
    assert metadata["backend"] == jax.default_backend() and metadata["jax"] == jax.__version__
    assert metadata["command"].startswith("python -m jax_sparse_dl.bench --quick")
    ops = {(r["op"], r["contender"]) for r in records if r["status"] == "ok"}
    for op in ("spmm", "sddmm"):
        for name in ("jsdl_f32_highest", "jsdl_bf16", "dense_f32_highest", "dense_bf16"):
            assert (op, name) in ops
    assert ("spmm", "bcsr") in ops and ("sddmm", "bcoo_sampled") in ops
    assert ("softmax", "jsdl_f32") in ops and ("softmax", "dense_masked_f32") in ops
    assert any(r["op"] == "copy" and r["gbps"] > 0 for r in records)
    (floor,) = [r for r in records if r["op"] == "floor"]
    assert floor["median_us"] > 0 and metadata["launch_floor_us"] == floor["median_us"]
    assert {r["suite"] for r in records if r["op"] == "spmm"} == {"transformer", "rn50"}
    for r in records:
        assert r["status"] in ("ok", "skipped"), {k: v for k, v in r.items() if k in (
            "op", "contender", "status", "reason", "error", "m", "k", "n", "d")}
        if r["status"] == "skipped":
            assert r["reason"]
        elif r["op"] in ("spmm", "sddmm", "softmax"):
            assert r["rel_err"] <= r["tol"], r
            assert r["median_us"] > 0 and r["calls"] >= 1
            # the clock of a run (auto: GPU busy time on a GPU); wall time kept beside it
            assert r["clock"] == ("device" if jax.default_backend() == "gpu" else "wall")
            assert r["wall_us"] > 0
            if r["clock"] == "wall":
                assert r["wall_us"] == r["median_us"]
    assert metadata["timing"].endswith(("device clock" if jax.default_backend() == "gpu"
                                        else "wall clock"))
    spmm = [r for r in records if r["op"] == "spmm" and r["status"] == "ok"]
    assert all(r["tflops"] == pytest.approx(2 * r["nnz"] * r["n"] / r["median_us"] / 1e6)
               for r in spmm)
    csv_lines = (out / "results.csv").read_text().splitlines()
    assert len(csv_lines) == len(records) + 1 and csv_lines[0].startswith("op,suite,")
    summary = (out / "summary.md").read_text()
    assert "Geometric-mean speedup" in summary and "csr_softmax" in summary
    assert "Where the run's time went" in summary
    assert f"smallest kernel: {floor['median_us']:.2f} µs" in summary
    assert "OK:" in text and "geometric-mean speedup" in text
    # The report regenerates summary.md from results.json alone.
    (out / "summary.md").unlink()
    assert report.main([str(out), "--no-plots", "--peak-tflops", "1.0"]) == 0
    assert "1.0 TFLOP/s" in (out / "summary.md").read_text()


def test_wrong_contender_is_flagged(tmp_path, capsys):
    wrong = Contender("jsdl_wrong", "spmm", "jsdl", "float32", "HIGHEST", "fp32",
                      lambda A, x: jsdl.spmm(A, x) * 1.001,
                      lambda d: (d.csr("float32"), d.x("float32")), "jsdl.spmm, off by 0.1%")
    # A right result from the wrong code: the compiled loop lacks the call it must contain.
    dense = lambda a, x: jnp.dot(a, x, precision=jax.lax.Precision.HIGHEST)  # noqa: E731
    inputs = lambda d: (d.dense_a("float32"), d.x("float32"))  # noqa: E731
    unlowered = Contender("dense_check", "spmm", "dense", "float32", "HIGHEST", "fp32", dense,
                          inputs, "dense", hlo_must_contain="no_such_custom_call")
    lowered = Contender("dense_check_ok", "spmm", "dense", "float32", "HIGHEST", "fp32", dense,
                        inputs, "dense", hlo_must_contain="while")
    cfg = Config(paths=_two_bundled()[:1], ops=("spmm",), dtypes=("float32",), n_values=(16,),
                 contenders=("jsdl_f32_highest", "jsdl_wrong", "dense_check*"),
                 out=str(tmp_path / "res"), min_time=0.001, repeats=2, warmup=1, plots=False)
    rc = run(cfg, extra_contenders=[wrong, unlowered, lowered])
    text = capsys.readouterr().out
    assert rc == 1  # a jsdl contender was wrong
    _, records = load_results(tmp_path / "res")
    by = {r["contender"]: r for r in records}
    assert by["jsdl_f32_highest"]["status"] == "ok"
    assert by["jsdl_wrong"]["status"] == "mismatch"
    assert by["jsdl_wrong"]["rel_err"] == pytest.approx(1e-3, rel=0.05)
    assert by["jsdl_wrong"]["median_us"] > 0  # timed, kept in the files
    assert by["dense_check"]["status"] == "error"
    assert "no_such_custom_call" in by["dense_check"]["reason"]
    assert by["dense_check_ok"]["status"] == "ok"
    assert "!! MISMATCH" in text and "jsdl_wrong" in text and "FAILED" in text
    assert "MISMATCH" in (tmp_path / "res" / "summary.md").read_text()


def test_plan_only(capsys):
    assert bench_main(["--plan", "--ops", "spmm,sddmm"]) == 0
    text = capsys.readouterr().out
    assert "plan: 5 matrices" in text and "distinct compiled loops" in text
    assert "spmm 196" in text and "spmm 50176" in text  # rn50 bundled: 14x14, batch 1 and 256


def test_time_budget_stops(tmp_path, capsys):
    rc = bench_main(["--quick", "--ops", "spmm", "--time-budget", "0", "--out",
                     str(tmp_path / "res"), "--no-plots"])
    assert rc == 0
    metadata, records = load_results(tmp_path / "res")
    assert metadata["stopped"]["problems_done"] == 0 and records == []
    assert "time budget" in capsys.readouterr().out
    json.loads((tmp_path / "res" / "results.json").read_text())


def test_forced_kernel_choice_is_flagged(tmp_path, capsys, monkeypatch):
    # A JSDL_*_VARIANT left set makes jsdl run the kernels it names, not the heuristic's: the
    # log and summary.md say so (session 41's benchmark ran so, unflagged).
    def summary_after_run(name):
        out = tmp_path / name
        assert bench_main(["--quick", "--ops", "spmm", "--time-budget", "0", "--out", str(out),
                           "--no-plots"]) == 0
        return capsys.readouterr().out, (out / "summary.md").read_text()

    monkeypatch.delenv("JSDL_SPMM_VARIANT", raising=False)
    monkeypatch.delenv("JSDL_SDDMM_VARIANT", raising=False)
    log, summary = summary_after_run("heuristic")
    assert "choice is forced" not in log and "choice forced" not in summary
    monkeypatch.setenv("JSDL_SPMM_VARIANT", "wgmma")
    monkeypatch.setenv("JSDL_SDDMM_VARIANT", "")  # empty: not an override
    log, summary = summary_after_run("forced")
    assert "kernel choice is forced (not the heuristic's): JSDL_SPMM_VARIANT=wgmma" in log
    assert "choice forced** (not the heuristic's): `JSDL_SPMM_VARIANT=wgmma`\n" in summary


def test_sigterm_writes_what_was_measured(tmp_path, capsys):
    import os
    import signal

    def inputs(d):  # the run is told to stop while it measures this contender
        os.kill(os.getpid(), signal.SIGTERM)
        return (d.csr("float32"), d.x("float32"))

    killer = Contender("killer", "spmm", "jsdl", "float32", "HIGHEST", "fp32",
                       lambda A, x: jsdl.spmm(A, x), inputs, "sends SIGTERM")
    cfg = Config(paths=_two_bundled(), ops=("spmm",), dtypes=("float32",), n_values=(8,),
                 contenders=("jsdl_f32_highest", "killer"), out=str(tmp_path / "res"),
                 min_time=0.001, repeats=1, warmup=0, plots=False)
    before = signal.getsignal(signal.SIGTERM)
    assert run(cfg, extra_contenders=[killer]) == 0
    assert signal.getsignal(signal.SIGTERM) == before  # restored
    metadata, records = load_results(tmp_path / "res")
    assert metadata["stopped"]["reason"].startswith("SIGTERM")
    # measured before the stop: the smallest kernel's time, then the first contender
    assert [r["contender"] for r in records] == ["xla_one_element", "jsdl_f32_highest"]
    assert (tmp_path / "res" / "summary.md").is_file()
    assert "terminated" in capsys.readouterr().out
