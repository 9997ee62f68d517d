"""Which SpMM kernel the heuristic (cuda/spmm/spmm_heuristic.h) picks, checked on the host.

The GPU suite checks every choice for correctness, not which one was made; these cases pin the
table in docs/kernels.md ("Heuristic"), so a rule that changes by accident fails here. The header
is host code: a small C++ driver includes it and prints the choice for an H200 (132 SMs,
227 KB of shared memory a block, 228 KB an SM)."""
import pytest
from conftest import CXX, host_driver

pytestmark = pytest.mark.skipif(CXX is None, reason="needs a C++ compiler")

DRIVER = r"""
#include <cstdio>
#include <cstdlib>
#include "spmm_heuristic.h"
int main() {
  const jsdl::SpmmDevice h200{132, 232448, 233472};
  long long m, k, n, batch, nnz;
  int vec, elem_bytes, copy_ok, can_wgmma, tf32, can_k_parts;
  char variant[128];
  while (std::scanf("%lld %lld %lld %lld %lld %d %d %d %d %d %d %127s", &m, &k, &n, &batch, &nnz,
                    &vec, &elem_bytes, &copy_ok, &can_wgmma, &tf32, &can_k_parts, variant) == 12) {
    if (variant[0] == '-') unsetenv("JSDL_SPMM_VARIANT");
    else setenv("JSDL_SPMM_VARIANT", variant, 1);
    const jsdl::SpmmChoice c =
        jsdl::ChooseSpmm(m, k, n, batch, nnz, vec, elem_bytes, copy_ok != 0, h200,
                         can_wgmma != 0, tf32 != 0, can_k_parts != 0);
    std::printf("%d %d %d %d %d %d %d %d %d %d %d %d\n", static_cast<int>(c.kind), c.tile_cols,
                c.rows_per_warp, c.lanes, c.warps, c.rows_per_block, c.pass_rows, c.stream_vecs,
                c.k_parts, static_cast<int>(c.batched), static_cast<int>(c.group_rows),
                c.stream_lanes);
  }
}
"""

KINDS = {0: "gather", 1: "panel", 2: "stream", 3: "wgmma"}


@pytest.fixture(scope="module")
def choose(tmp_path_factory):
    """choose(m, k, n, density, dtype bytes, batch=1, variant=None, can_wgmma=False,
    tf32=False, can_k_parts=False) -> dict of the choice (can_wgmma: the wgmma tile can run,
    tf32: in TF32, can_k_parts: its workspace has room for parts over k)."""
    driver = host_driver(tmp_path_factory.mktemp("spmm_heuristic"), DRIVER, "spmm")

    def run(m, k, n, density, elem_bytes=4, batch=1, variant=None, vec=None, copy_ok=True,
            can_wgmma=False, tf32=False, can_k_parts=False):
        vec = vec if vec is not None else (16 // elem_bytes if n % (16 // elem_bytes) == 0
                                           else 1)
        nnz = int(round(m * k * density))
        (kind, tile, rpw, lanes, warps, rpb, pass_rows, vecs, k_parts, batched, group_rows,
         stream_lanes) = driver(
            f"{m} {k} {n} {batch} {nnz} {vec} {elem_bytes} {int(copy_ok)} {int(can_wgmma)} "
            f"{int(tf32)} {int(can_k_parts)} {variant or '-'}\n")
        return dict(kind=KINDS[kind], tile=tile, rows_per_warp=rpw, lanes=lanes, warps=warps,
                    rows_per_block=rpb, pass_rows=pass_rows, vecs=vecs, k_parts=k_parts,
                    batched=bool(batched), group_rows=bool(group_rows), stream_lanes=stream_lanes)

    return run


@pytest.mark.parametrize("m, k, n, density", [
    (512, 512, 256, 0.1), (512, 512, 2048, 0.3), (2048, 512, 256, 0.05), (64, 64, 802816, 0.5),
    (128, 512, 784, 0.1)])
@pytest.mark.parametrize("elem_bytes", [4, 2])
def test_wide_stream_wherever_its_panel_fits(choose, m, k, n, density, elem_bytes):
    # Session 13 (device clock): once n fills a 256-byte tile; session 43: but for one short wave
    # at a re-use under 0.35 (next test).
    c = choose(m, k, n, density, elem_bytes)
    assert (c["kind"], c["vecs"], c["tile"], c["pass_rows"]) == ("stream", 2, 256 // elem_bytes, 0)
    assert c["rows_per_block"] >= 1


def test_gather_over_waves_of_wide_stream_blocks_at_low_reuse(choose):
    # Session 16: float32 at N = 200704 (3136 tiles of 64 columns, blocks of all m rows); since
    # session 48 only for rows longer than rows-stream's 16 entries (the next test).
    for m, k, density in [(32, 512, 0.05), (64, 512, 0.04)]:  # re-use 1.6 and 2.6, 26 and 20
        c = choose(m, k, 200704, density)
        assert (c["kind"], c["tile"], c["lanes"]) == ("gather", 128, 16)
        assert choose(m, k, 200704, 2 * density)["vecs"] == 2  # re-use 3.2 and 5.1
        assert choose(m, k, 200704, density, elem_bytes=2)["vecs"] == 2  # 16-bit: not timed
    assert choose(128, 512, 784, 0.1)["vecs"] == 2  # one wave
    c = choose(32, 512, 8192, 0.05, batch=32)  # waves over the batch
    assert (c["kind"], c["batched"]) == ("gather", False)


@pytest.mark.parametrize("elem_bytes", [4, 2])
def test_batched_gather_for_one_short_wave_at_low_reuse(choose, elem_bytes):
    # Session 43 (H100): ResNet-50's 128 x 512 at 98%, N = 784 (re-use 0.26 in float32) and
    # 512 x 512 at 98%, N = 256 (0.32): 128 columns, one row a warp, 8 warps, loads batched.
    for m, k, n in [(128, 512, 784), (512, 512, 256)]:
        c = choose(m, k, n, 0.02, elem_bytes)
        assert (c["kind"], c["tile"], c["rows_per_warp"], c["lanes"], c["warps"], c["batched"]) == (
            "gather", 128, 1, 0, 8, True)
    # A re-use of 0.35 or more keeps the wide stream kernel (512 x 512 at 80%, N = 256: 3.2 in
    # float32, 1.6 in bfloat16; at 95%, 0.8 and 0.4, where the batched kernel lost in bfloat16).
    assert choose(512, 512, 256, 0.2, elem_bytes)["vecs"] == 2
    assert choose(512, 512, 256, 0.05, elem_bytes)["vecs"] == 2
    assert choose(128, 512, 784, 0.05, elem_bytes)["vecs"] == 2
    # More blocks than SMs: the batch's registers would cost resident warps (N = 200704 lost).
    assert not choose(128, 512, 200704, 0.02, elem_bytes)["batched"]
    assert not choose(1024, 512, 256, 0.02, elem_bytes)["batched"]  # 128 x 2 blocks
    assert not choose(128, 512, 784, 0.02, elem_bytes, batch=2)["batched"]  # 2 x 112 blocks
    # Rows not 16-byte aligned (no vectors) and float64 (no shared-memory copy) keep theirs.
    assert not choose(128, 512, 786, 0.02, elem_bytes)["batched"]
    assert not choose(128, 512, 784, 0.02, 8, copy_ok=False)["batched"]


def test_batched_gather_variant(choose):
    c = choose(512, 512, 256, 0.2, variant="gather-batched:64:2:16")
    assert (c["kind"], c["tile"], c["rows_per_warp"], c["warps"], c["batched"]) == (
        "gather", 64, 2, 16, True)
    c = choose(512, 512, 256, 0.2, variant="gather-batched")
    assert (c["kind"], c["tile"], c["rows_per_warp"], c["warps"], c["batched"]) == (
        "gather", 128, 1, 8, True)
    c = choose(512, 512, 256, 0.02, variant="gather:128:1")
    assert (c["kind"], c["batched"]) == ("gather", False)


def test_wide_stream_for_narrow_outputs_only_with_reuse(choose):
    # n = 40 does not fill a 64-column float32 tile: only a re-use of 4 takes the wide kernel.
    assert choose(5000, 300, 40, 0.12)["vecs"] == 2  # 38 rows a block x 0.12
    c = choose(5000, 300, 40, 0.002)
    assert (c["kind"], c["vecs"]) == ("panel", 1)


def test_taller_panels(choose):
    # k = 1200 float32: the 256-byte panel does not fit, the 128-byte one does.
    c = choose(300, 1200, 1000, 0.03)
    assert (c["kind"], c["vecs"], c["pass_rows"]) == ("stream", 1, 0)
    c = choose(300, 1200, 1000, 0.01)  # re-use below 2: wide float32 gather, 16 lanes x 2
    assert (c["kind"], c["tile"], c["lanes"]) == ("gather", 128, 16)
    # k = 2048 at N = 256, where the 128-byte panel needs passes: the 64-byte one whole
    # (session 49), 64 rows a block.
    def narrow(c):
        return (c["kind"], c["stream_lanes"], c["pass_rows"]) == ("stream", 4, 0)
    c = choose(512, 2048, 256, 0.4)
    assert narrow(c) and c["rows_per_block"] == 64
    assert narrow(choose(512, 2048, 256, 0.1, 2))  # bfloat16
    assert narrow(choose(256, 2304, 256, 0.1))
    # Passes still where not even the 64-byte panel fits (k = 4000: 250 KB).
    c = choose(512, 4000, 256, 0.4)
    assert c["stream_lanes"] == 8 and c["pass_rows"] >= 256
    # Session 15 (tuning a5dc63d): narrow outputs with k >= 1024 stream from a re-use of 0.5,
    # in passes (now the narrow rows) or with the whole panel: 32 rows x 0.02 here, 16 x 0.04
    # at k = 1200.
    assert narrow(choose(512, 2048, 256, 0.02))
    c = choose(512, 1200, 128, 0.04)
    assert (c["kind"], c["vecs"], c["pass_rows"]) == ("stream", 1, 0)
    # Below it they gather (16 rows x 0.02 on 256 x 2304, 8 x 0.02 on 128 x 1152).
    assert choose(256, 2304, 256, 0.02)["kind"] == "gather"
    assert choose(128, 1152, 256, 0.02)["kind"] == "gather"
    assert choose(256, 1000, 256, 0.02)["kind"] == "panel"  # k < 1024 and re-use below 2
    # Wide float32 outputs: passes from 90% sparsity, else 8 lanes x 2 in blocks of 32 warps.
    for m, k, n in [(512, 2048, 2048), (256, 2304, 4096)]:
        c = choose(m, k, n, 0.09)
        assert c["kind"] == "stream" and c["vecs"] == 1 and c["pass_rows"] >= 256
        c = choose(m, k, n, 0.2)
        assert (c["kind"], c["tile"], c["lanes"], c["warps"]) == ("gather", 64, 8, 32)


def test_attention_head_dim_64(choose):
    c = choose(1100, 1100, 64, 0.05)
    assert (c["kind"], c["tile"], c["lanes"], c["warps"], c["rows_per_warp"]) == (
        "gather", 64, 8, 32, 2)
    c = choose(1100, 1100, 64, 0.05, elem_bytes=2)
    assert (c["kind"], c["tile"], c["lanes"], c["warps"], c["rows_per_warp"]) == (
        "gather", 64, 8, 8, 4)


def test_no_shared_copy(choose):
    # float64 (no panel or stream kernels) and rows that are not 16-byte aligned gather.
    assert choose(512, 512, 256, 0.1, elem_bytes=8, copy_ok=False)["kind"] == "gather"
    c = choose(512, 512, 255, 0.1)
    assert (c["kind"], c["tile"]) == ("gather", 128)


def test_variant_overrides(choose):
    c = choose(512, 512, 256, 0.1, variant="wide-stream:7")
    assert (c["kind"], c["vecs"], c["rows_per_block"], c["group_rows"]) == ("stream", 2, 7, False)
    c = choose(512, 512, 256, 0.1, variant="rows-stream:7")
    assert (c["kind"], c["vecs"], c["rows_per_block"], c["group_rows"]) == ("stream", 2, 7, True)
    c = choose(512, 512, 256, 0.1, variant="stream:64:100")
    assert (c["kind"], c["vecs"], c["rows_per_block"], c["pass_rows"]) == ("stream", 1, 64, 100)
    c = choose(512, 512, 256, 0.1, variant="gather:32:4:8:16")
    assert (c["kind"], c["tile"], c["rows_per_warp"], c["lanes"], c["warps"]) == (
        "gather", 32, 4, 8, 16)
    c = choose(512, 512, 256, 0.1, variant="panel:32:4")
    assert (c["kind"], c["tile"], c["rows_per_warp"]) == ("panel", 32, 4)
    # narrow-stream: 64-byte rows (16 float32 columns), one wave of 16 x 8 blocks at N = 256.
    c = choose(512, 2048, 256, 0.1, variant="narrow-stream")
    assert (c["kind"], c["tile"], c["stream_lanes"], c["rows_per_block"], c["pass_rows"]) == (
        "stream", 16, 4, 64, 0)
    assert choose(512, 2048, 256, 0.1, variant="narrow-stream:7")["rows_per_block"] == 7
    assert choose(512, 2048, 256, 0.1, 2, variant="narrow-stream")["tile"] == 32
    # A variant that does not fit falls back to the heuristic's own choice.
    assert choose(512, 4000, 256, 0.1, variant="wide-stream")["vecs"] == 1
    assert not choose(512, 4000, 256, 0.1, variant="rows-stream")["group_rows"]
    assert choose(512, 4000, 256, 0.1, variant="narrow-stream")["stream_lanes"] == 8


# Session 29, call 2 (H200, DLMC matrices; the tile's dense rows by TMA) against session 27's
# CUDA-core times. Faster at 50-90% sparsity with full waves of blocks (n = 2048, 8192):
# 512 x 512 at 50%, n = 2048: 24.9 against 48.8 us; 512 x 2048 at 60%: 57.9 against 228.1;
# 2048 x 512 at 70%: 71.7 against 112.5; ResNet-50's 128 x 1152 at 70%, n = 25088: 98.5
# against 263.7. Slower with few blocks (512 x 512 at 50%, n = 256: 24.2 against 11.1) and at
# 95% (2048 x 512, n = 2048: 70.5 against 34.2). Session 32, call 3 (the staged epilogue,
# docs/gpu-runs/2026-12-04-h200-f5161d1-heuristic): ResNet-50's 64 x 256 at 80%, n = 25088, now
# 22.2 against 26.3 us (it had lost, 26.9 against 26.1).
@pytest.mark.parametrize("m, k, n, density", [
    (512, 512, 2048, 0.5), (512, 2048, 2048, 0.4), (2048, 512, 2048, 0.3), (512, 2048, 8192, 0.3),
    (512, 512, 8192, 0.5), (128, 1152, 25088, 0.3), (64, 256, 200704, 0.2),
    (64, 256, 25088, 0.2)])
def test_wgmma_tile_where_measured_faster(choose, m, k, n, density):
    assert choose(m, k, n, density, can_wgmma=True)["kind"] == "wgmma"
    assert choose(m, k, n, density, can_wgmma=True, tf32=True)["kind"] == "wgmma"
    assert choose(m, k, n, density)["kind"] != "wgmma"  # cannot run here
    assert choose(m, k, n, density, variant="no-wgmma", can_wgmma=True)["kind"] != "wgmma"


@pytest.mark.parametrize("m, k, n, density", [
    (512, 512, 256, 0.5), (512, 2048, 256, 0.4), (2048, 512, 2048, 0.05), (512, 512, 256, 0.2)])
def test_cuda_cores_where_the_wgmma_tile_measured_slower(choose, m, k, n, density):
    assert choose(m, k, n, density, can_wgmma=True)["kind"] != "wgmma"
    assert choose(m, k, n, density, can_wgmma=True) == choose(m, k, n, density)
    assert choose(m, k, n, density, variant="wgmma", can_wgmma=True)["kind"] == "wgmma"


# Where TF32 (DEFAULT) wins and 3xTF32 (HIGHEST) loses: 2048 x 512 at 70%, n = 256: 17.6 and 24.3
# against 20.2 us (session 32, call 3: 14.6 and 21.4 against 20.3).
@pytest.mark.parametrize("m, k, n, density", [(2048, 512, 256, 0.3)])
def test_wgmma_tile_only_in_tf32_where_measured_so(choose, m, k, n, density):
    assert choose(m, k, n, density, can_wgmma=True, tf32=True)["kind"] == "wgmma"
    assert choose(m, k, n, density, can_wgmma=True)["kind"] != "wgmma"


# Session 30, call 1 (H200, DLMC transformer matrices, bfloat16): the 16-bit tile against the
# CUDA cores. Faster: 512 x 2048 at 60%, n = 2048: 25.1 against 241.9 us; 512 x 512 at 50%,
# n = 2048: 17.0 against 40.5; 2048 x 512 at 70%, n = 256: 15.5 against 20.9; 512 x 512 at
# 80%, n = 8192: 34.6 against 64.9. Slower: 512 x 512 at 50% and 80%, n = 256: 16.3 and 13.9
# against 12.4 and 8.3; 2048 x 512 at 95%, n = 8192: 115.4 against 95.6. Session 32, call 3 (the
# staged epilogue): 2048 x 512 at 95% now faster, n = 8192: 80.9 against 95.7, n = 2048: 25.1
# against 30.9; at 98%, n = 2048, slower: 25.1 against 22.8.
@pytest.mark.parametrize("m, k, n, density", [
    (512, 2048, 2048, 0.4), (512, 512, 2048, 0.5), (2048, 512, 256, 0.3), (512, 512, 8192, 0.2),
    (512, 2048, 8192, 0.1), (2048, 512, 8192, 0.05), (2048, 512, 2048, 0.05)])
def test_16bit_wgmma_tile_where_measured_faster(choose, m, k, n, density):
    assert choose(m, k, n, density, elem_bytes=2, can_wgmma=True)["kind"] == "wgmma"
    assert choose(m, k, n, density, elem_bytes=2)["kind"] != "wgmma"  # cannot run here


@pytest.mark.parametrize("m, k, n, density", [
    (512, 512, 256, 0.5), (512, 512, 256, 0.2), (2048, 512, 2048, 0.02)])
def test_16bit_cuda_cores_where_the_tile_measured_slower(choose, m, k, n, density):
    assert choose(m, k, n, density, elem_bytes=2, can_wgmma=True)["kind"] != "wgmma"
    assert choose(m, k, n, density, elem_bytes=2, can_wgmma=True,
                  variant="wgmma")["kind"] == "wgmma"


def test_tf32_takes_the_wgmma_tile_sparser(choose):
    """TF32's chunks take less time than 3xTF32's, so its break-even density is lower."""
    densities = [d / 100 for d in range(2, 60)]
    first = {tf32: next(d for d in densities if choose(2048, 512, 2048, d, can_wgmma=True,
                                                        tf32=tf32)["kind"] == "wgmma")
             for tf32 in (False, True)}
    # Session 32, call 3 (DLMC's 2048 x 512 at 50-98%, the staged epilogue): TF32 between 5% and
    # 10% (interpolated 5.6%), 3xTF32 between 10% and 20% (interpolated 15%).
    assert 0.04 <= first[True] <= 0.1 <= first[False] <= 0.2, first


# Parts over k for the wgmma tile: the time model gives a call of few work items (64 rows x 128
# columns of the output each) its chunks of k in parts over more blocks, within one wave, each
# part at least 2 chunks, at most 8 parts, only at most 64 items and only where the workspace has
# their room (can_k_parts).
def test_k_parts_where_they_were_measured_faster(choose):
  """Session 33 (docs/gpu-runs/2026-12-04-h200-d836b85-k-parts, harness): 512 x 2048 at N = 256
  (16 items of 32 chunks) in 3xTF32 took 53.2 us in one part, 31.5 in 4, 34.9 in 8, and in TF32
  30.0, 24.6, 30.8. 2048 x 512 at N = 256 (64 items of 8 chunks) took 21.3 us in one part and
  23.6 in two (3xTF32; TF32 14.6 and 19.4); 512 x 512 (16 items of 8 chunks) in 4 parts 22.5
  against 21.5 in one (TF32 20.4 against 15.4)."""
  def parts(m, k, tf32):
    return choose(m, k, 256, 0.4, can_wgmma=True, can_k_parts=True, tf32=tf32,
                  variant="wgmma")["k_parts"]
  assert 3 <= parts(512, 2048, tf32=False) <= 6
  assert 2 <= parts(512, 2048, tf32=True) <= 5
  assert parts(2048, 512, tf32=False) == parts(2048, 512, tf32=True) == 1
  assert parts(512, 512, tf32=True) == 1


def test_k_parts_only_with_their_room(choose):
  # 512 x 2048, N = 256: 16 items of 32 chunks; 3xTF32 at 60%.
  assert choose(512, 2048, 256, 0.4, can_wgmma=True)["k_parts"] == 1
  with_room = choose(512, 2048, 256, 0.4, can_wgmma=True, can_k_parts=True)
  assert with_room["kind"] == "wgmma" and 2 <= with_room["k_parts"] <= 8
  assert choose(512, 2048, 256, 0.4, can_k_parts=True)["kind"] != "wgmma"  # cannot run here


@pytest.mark.parametrize("m, k, n", [(2048, 512, 2048), (512, 512, 8192), (128, 1152, 25088)])
def test_no_k_parts_for_many_items(choose, m, k, n):
  """More than 64 work items (512, 256 and 392 here): one part an item."""
  c = choose(m, k, n, 0.3, can_wgmma=True, can_k_parts=True)
  assert c["kind"] == "wgmma" and c["k_parts"] == 1


def test_k_parts_within_a_wave_and_two_chunks_each(choose):
  for m, k, n in [(512, 2048, 256), (2048, 512, 256), (512, 512, 256), (64, 4096, 128),
                  (130, 300, 136)]:
    items = -(-m // 64) * -(-n // 128)
    parts = choose(m, k, n, 0.5, can_wgmma=True, can_k_parts=True, variant="wgmma")["k_parts"]
    assert parts == 1 or (items * parts <= 132 and -(-k // 64) // parts >= 2), (m, k, n, parts)
  # 64 x 4096, N = 1024: 8 items of 64 chunks: the model takes all 8 parts.
  assert choose(64, 4096, 1024, 0.5, can_wgmma=True, can_k_parts=True)["k_parts"] == 8
  # k = 192: 3 chunks, too few for two parts of two.
  assert choose(64, 192, 128, 0.5, can_wgmma=True, can_k_parts=True,
                variant="wgmma")["k_parts"] == 1


def test_k_parts_forced(choose):
  def parts(variant, room=True, k=700):
    return choose(130, k, 136, 0.4, can_wgmma=True, can_k_parts=room, variant=variant)["k_parts"]
  assert parts("wgmma:3") == 3
  assert parts("wgmma:1") == 1
  assert parts("wgmma:100") == 8  # at most kMaxKParts
  assert parts("wgmma:11", k=400) == 7  # at most the 7 chunks
  assert parts("wgmma:5", room=False) == 1
  assert choose(130, 700, 136, 0.4, can_wgmma=True, can_k_parts=True,
                variant="wgmma:3")["kind"] == "wgmma"


KPARTS_DRIVER = r"""
#include <cstdio>
#include "spmm_config.h"
int main() {
  long long items, chunks;
  while (std::scanf("%lld %lld", &items, &chunks) == 2)
    std::printf("%lld\n", static_cast<long long>(jsdl::SpmmWgmmaKPartsBytes(items, chunks)));
}
"""


def test_python_sizes_the_k_parts_as_the_header(tmp_path):
  """jax_sparse_dl/spmm.py sizes the workspace's parts over k; the handler uses them only where
  they fit (SpmmWgmmaKPartsRoom), so the two must agree."""
  import re
  from pathlib import Path
  import importlib
  spmm = importlib.import_module("jax_sparse_dl.spmm")  # the module, not the function
  header = (Path(__file__).resolve().parents[1] / "cuda/spmm/spmm_config.h").read_text()
  for name, value in [("kMaxKParts", spmm.WGMMA_MAX_K_PARTS),
                      ("kKPartsMaxItems", spmm.WGMMA_K_PARTS_MAX_ITEMS),
                      ("kMinKPartChunks", spmm.WGMMA_MIN_K_PART_CHUNKS),
                      ("kConsumers", spmm.WGMMA_CONSUMERS)]:
    assert int(re.search(rf"\b{name} = (\d+)", header).group(1)) == value, name
  run = host_driver(tmp_path, KPARTS_DRIVER, "spmm")
  for m, k, n, batch in [(512, 2048, 256, 1), (130, 300, 136, 2), (512, 512, 2048, 1),
                         (64, 192, 128, 1), (64, 256, 128, 1), (512, 512, 512, 4),
                         (512, 512, 512, 5)]:
    items = -(-m // 64) * -(-n // 128) * batch
    assert run(f"{items} {-(-k // 64)}\n") == [spmm.wgmma_k_parts_bytes(m, k, n, batch)], (m, k, n)
  assert spmm.wgmma_k_parts_bytes(512, 2048, 256, 1) == 16 * (8 * 64 * 128 * 4 + 8)
  assert spmm.wgmma_k_parts_bytes(512, 512, 512, 5) == 0  # 80 items


def test_short_rows_take_a_row_per_group(choose):
    # Session 46 (H100 harness): where the wide stream kernel ran on rows of at most 16 entries.
    c = choose(128, 256, 802816, 0.05)  # ResNet-50's 95% layer at batch 256: 12.8 entries a row
    assert (c["kind"], c["vecs"], c["group_rows"]) == ("stream", 2, True)
    assert choose(512, 512, 2048, 0.02)["group_rows"]  # the transformer's 98%: 10.2
    assert choose(128, 512, 200704, 0.02, elem_bytes=2)["group_rows"]
    # Rows of 16 entries take it, of 17 not; 26 (the transformer's 2048 x 512 at 95%) lost.
    assert choose(128, 512, 802816, 16 / 512)["group_rows"]
    assert not choose(128, 512, 802816, 17 / 512)["group_rows"]
    c = choose(2048, 512, 2048, 0.05)
    assert (c["kind"], c["vecs"], c["group_rows"]) == ("stream", 2, False)
    # float32 over many waves at low re-use too (session 48: 1.06x the gather kernel on ResNet-50's
    # 128 x 512 at 98%, N = 200704), also waves over the batch; rows of 26 entries not.
    for m, k in [(64, 64), (128, 512)]:
        assert choose(m, k, 200704, 0.02)["group_rows"]
    assert choose(128, 512, 8192, 0.02, batch=32)["group_rows"]
    assert choose(32, 512, 200704, 0.05)["kind"] == "gather"
    # An output narrower than one wide tile, or no wide panel: never.
    assert not choose(512, 512, 32, 0.02)["group_rows"]
    assert not choose(512, 4000, 2048, 0.002)["group_rows"]


def test_tf32_short_rows_before_the_wgmma_tile(choose):
    # Session 58 (H100 harness): ResNet-50's 95% layer at batch 256 in TF32, rows of 12.8
    # entries: the CUDA cores 1.22x the wgmma tile, which the model chose.
    short = (128, 256, 802816, 0.05)
    assert choose(*short, can_wgmma=True, tf32=True) == choose(*short)
    assert choose(*short, can_wgmma=True, tf32=True)["group_rows"]
    # The tile stays in bfloat16 (1.14x) and for rows of 17+ entries (70%: 2.7x).
    assert choose(*short, elem_bytes=2, can_wgmma=True, tf32=True)["kind"] == "wgmma"
    assert choose(128, 256, 802816, 0.3, can_wgmma=True, tf32=True)["kind"] == "wgmma"
    assert choose(128, 256, 802816, 17 / 256, can_wgmma=True, tf32=True)["kind"] == "wgmma"
    assert choose(128, 256, 802816, 16 / 256, can_wgmma=True, tf32=True)["group_rows"]
