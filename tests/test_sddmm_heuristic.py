"""Which SDDMM kernel the heuristic (ChooseSddmm in cuda/sddmm/sddmm_config.h) picks, checked on
the host.

The GPU suite checks every kernel for correctness, not which one runs; these cases pin the table
in docs/kernels.md ("SDDMM heuristic"), so a rule that changes by accident fails here, in CI,
which has no GPU. A small C++ driver includes the header and prints the choice for an H200
(132 SMs, thread-block clusters)."""
import pytest
from conftest import CXX, host_driver

pytestmark = pytest.mark.skipif(CXX is None, reason="needs a C++ compiler")

DRIVER = r"""
#include <cstdio>
#include <cstdlib>
#include "sddmm_config.h"
int main() {
  long long m, k, nnz, d, batch;
  int mma, wgmma, bytes;
  char variant[128];
  while (std::scanf("%lld %lld %lld %lld %lld %d %d %d %127s", &m, &k, &nnz, &d, &batch, &mma,
                    &wgmma, &bytes, variant) == 9) {
    if (variant[0] == '-') unsetenv("JSDL_SDDMM_VARIANT");
    else setenv("JSDL_SDDMM_VARIANT", variant, 1);
    const jsdl::SddmmChoice c =
        jsdl::ChooseSddmm(m, k, nnz, d, batch, 132, mma, true, wgmma, bytes);
    std::printf("%d %d %d %d %d %d %d %d %d\n", static_cast<int>(c.kind), c.d_split, c.tile_edge,
                c.row.lanes, c.row.vecs_per_lane, c.lanes, c.warp_groups, c.shares, c.warps);
  }
}
"""

KINDS = {0: "row", 1: "flat", 2: "tile", 3: "mma", 4: "wgmma"}


@pytest.fixture(scope="module")
def choose(tmp_path_factory):
    """choose(m, k, density, d, mma=False, batch=1, variant=None, full=False, shares=False,
    tile_warps=False, wgmma=False, bytes=4) -> (kind, d_split); with full=True (kind, d_split, flat lanes an entry, mma
    k-groups of warps), with shares=True (kind, d_split, the tile output's shares), with
    tile_warps=True (kind, d_split, mma:64's warps a tile in 3xTF32). mma: mmas a product (0 /
    False: no tensor cores, float64; 1 / True: TF32 or 16-bit inputs; 3: 3xTF32, float32 at
    HIGHEST); wgmma: the wgmma tile can run (sm_90a build, 9.0 device, aligned rows); bytes: the
    inputs' element size (2: bfloat16 / float16)."""
    driver = host_driver(tmp_path_factory.mktemp("sddmm_heuristic"), DRIVER, "sddmm")

    def run(m, k, density, d, mma=False, batch=1, variant=None, full=False, shares=False,
            tile_warps=False, wgmma=False, bytes=4):
        nnz = int(round(m * k * density))
        kind, split, edge, row_lanes, vecs, lanes, groups, out_shares, warps = driver(
            f"{m} {k} {nnz} {d} {batch} {int(mma)} {int(wgmma)} {bytes} {variant or '-'}\n")
        if shares:
            return KINDS[kind], split, out_shares
        if tile_warps:
            return KINDS[kind], split, warps
        return (KINDS[kind], split, lanes, groups) if full else (KINDS[kind], split)

    return run


@pytest.mark.parametrize("m, k, density, d, expected", [
    (2048, 512, 0.2, 2048, ("mma", 1)),   # 256 tiles: 8 warps a tile, no split (session 20)
    (2048, 512, 0.05, 2048, ("mma", 1)),  # from 4% with tiles for every SM (session 21)
    (2048, 512, 0.03, 2048, ("flat", 1)),  # under 4%: the flat kernel, 8 lanes an entry
    (4096, 1024, 0.05, 2048, ("mma", 1)),
    (512, 512, 0.2, 2048, ("mma", 2)),    # 64 tiles < SMs: d split over a cluster
    (512, 512, 0.07, 2048, ("mma", 2)),   # split: from 6%
    (512, 512, 0.05, 2048, ("flat", 1)),
    (512, 512, 0.2, 256, ("mma", 1)),     # 64 tiles, d <= 512: from 15%, no split
    (512, 512, 0.1, 256, ("flat", 1)),
    (2048, 512, 0.05, 256, ("mma", 1)),   # 256 tiles: from 4%
    (2048, 512, 0.03, 256, ("flat", 1)),
])
def test_tensor_cores_where_allowed_from_d_256(choose, m, k, density, d, expected):
    assert choose(m, k, density, d, mma=True) == expected


@pytest.mark.parametrize("m, k, density, d, expected", [
    (512, 2048, 0.3, 2048, ("mma", 1)),   # 256 tiles: no split (1.1x faster unsplit)
    (512, 2048, 0.08, 256, ("mma", 1)),   # 128+ tiles: from d = 256 and 7% density
    (512, 512, 0.3, 2048, ("mma", 2)),    # 64 tiles < SMs: split over a cluster
    (512, 512, 0.15, 2048, ("mma", 2)),   # 64 tiles: from 12%
    (512, 512, 0.5, 256, ("mma", 2)),     # ... also at d = 256 (session 22)
    (512, 512, 0.2, 256, ("mma", 2)),
    (512, 2048, 0.4, 64, ("mma", 1)),     # d = 64 on 256 tiles from 7%
    (512, 2048, 0.1, 64, ("mma", 1)),
])
def test_3xtf32_at_highest(choose, m, k, density, d, expected):
    assert choose(m, k, density, d, mma=3) == expected


@pytest.mark.parametrize("m, k, density, d", [
    (512, 2048, 0.02, 2048),  # 2%: the flat kernel
    (512, 512, 0.1, 256),     # 64 tiles at d = 256 under 12%
    (512, 512, 0.15, 64),     # 64 tiles at d = 64 under 18%: the flat kernel (session 44)
    (512, 2048, 0.05, 64),    # d = 64 under 7%
    (128, 512, 0.5, 2048),    # 16 tiles: never (session 21)
    (512, 512, 0.1, 2048),    # 64 tiles under 12%
    (2048, 512, 0.05, 2048),  # under 7%
    (64, 256, 0.5, 2048),     # 4 tiles
    (512, 2048, 0.3, 32),     # short d
])
def test_3xtf32_not_where_cuda_cores_win(choose, m, k, density, d):
    assert choose(m, k, density, d, mma=3)[0] != "mma"


def test_tensor_cores_need_enough_density_and_tiles(choose):
    assert choose(512, 512, 0.1, 256, mma=True)[0] != "mma"  # 64 tiles: 15% needed
    assert choose(64, 64, 0.5, 2048, mma=True)[0] == "flat"   # 1 tile: under the 48-tile floor


@pytest.mark.parametrize("m, k, density, d, expected", [
    (512, 512, 0.5, 64, ("tile", 1)),     # d <= 128: the exact SIMT tile from 9%
    (2048, 512, 0.2, 64, ("tile", 1)),
    (512, 512, 0.4, 256, ("tile", 2)),    # 64 tiles < SMs, d >= 256: split over a cluster
    (512, 512, 0.2, 256, ("flat", 1)),    # ... from 30% (session 21)
    (2048, 512, 0.2, 256, ("tile", 1)),   # 256 tiles: no split
    (2048, 512, 0.2, 2048, ("tile", 1)),
])
def test_simt_tile_without_tensor_cores(choose, m, k, density, d, expected):
    assert choose(m, k, density, d) == expected


@pytest.mark.parametrize("m, k, density, d", [
    (2048, 512, 0.2, 64), (512, 2048, 0.05, 64), (2048, 512, 0.05, 128)])
def test_tensor_cores_from_d_64_with_many_tiles(choose, m, k, density, d):
    # Session 14 (device clock): 256 tiles, d = 64: 1.0-1.5x the SIMT tile and the flat kernel.
    assert choose(m, k, density, d, mma=True) == ("mma", 1)


def test_tensor_cores_at_short_d_on_few_tiles(choose):
    # Session 22: with the output pass's row search unrolled, mma:64 beats the SIMT tile and the
    # flat kernel on 64 tiles at d = 64 from 15% density.
    assert choose(512, 512, 0.4, 64, mma=True) == ("mma", 1)
    assert choose(512, 512, 0.2, 64, mma=True) == ("mma", 1)


@pytest.mark.parametrize("m, k, density, d, mma, expected", [
    (512, 512, 0.15, 64, 3, ("flat", 1)),     # 64 tiles at HIGHEST under 18%: the flat kernel
    (512, 512, 0.4, 64, 0, ("tile", 1)),      # float64: the SIMT tile
    (512, 512, 0.1, 64, 1, ("flat", 1)),      # TF32 from 15% on 64 tiles
    (2048, 512, 0.2, 32, 1, ("tile", 1)),     # d < 64
    (2048, 512, 0.03, 64, 1, ("flat", 1)),    # under 4%
])
def test_short_d_keeps_cuda_cores_elsewhere(choose, m, k, density, d, mma, expected):
    assert choose(m, k, density, d, mma=mma) == expected


def test_row_kernel_for_many_long_rows(choose):
    # 8 attention heads of 4096 x 4096 at 95%: 205 entries a row, 32768 rows.
    assert choose(4096, 4096, 0.05, 64, batch=8)[0] == "row"
    assert choose(4096, 4096, 0.05, 64, batch=8, mma=True)[0] == "row"


@pytest.mark.parametrize("m, k, density, d, expected", [
    # (kind, d split, lanes an entry): session 21's flat kernel, 8 lanes for long d or few
    # entries, 4 for many; d split over 4 warps only when its 4-entry tiles are few
    (512, 512, 0.02, 64, ("flat", 1, 8, 2)),      # 5243 entries: 8 lanes at d <= 128
    (2048, 512, 0.02, 64, ("flat", 1, 4, 2)),     # 20972: 4 lanes
    (512, 512, 0.02, 256, ("flat", 1, 8, 2)),     # under 192 a SM at d <= 512
    (512, 512, 0.1, 256, ("flat", 1, 4, 2)),
    (64, 256, 0.1, 256, ("flat", 4, 8, 2)),       # 410 4-entry tiles: up to 4 a SM, split
    (64, 256, 0.2, 256, ("flat", 1, 8, 2)),       # 819: no split
    (64, 64, 0.5, 64, ("flat", 1, 8, 2)),         # never split at d <= 128
    (512, 512, 0.02, 2048, ("flat", 4, 8, 2)),    # 1311 4-entry tiles: up to 16 a SM
    (128, 512, 0.2, 2048, ("flat", 1, 8, 2)),     # 3277: no split (ResNet-50, 16 tiles)
    (2048, 512, 0.02, 1024, ("flat", 1, 8, 2)),   # long d: 8 lanes
])
def test_flat_kernel_elsewhere(choose, m, k, density, d, expected):
    assert choose(m, k, density, d, full=True) == expected


@pytest.mark.parametrize("m, k, density, d, groups", [
    (512, 2048, 0.4, 64, 1), (512, 2048, 0.1, 256, 1),   # 256 tiles, d <= 256: one k-group
    (512, 512, 0.5, 64, 2), (512, 512, 0.2, 256, 2),     # 64 tiles: two
    (2048, 512, 0.2, 2048, 2),                           # long d: two
])
def test_mma_warp_groups(choose, m, k, density, d, groups):
    kind, _, _, chosen = choose(m, k, density, d, mma=True, full=True)
    assert (kind, chosen) == ("mma", groups)


@pytest.mark.parametrize("variant, mma, expected", [
    ("row", False, ("row", 1)), ("row:8:2", False, ("row", 1)), ("flat:1", False, ("flat", 1)),
    ("flat:4", False, ("flat", 4)), ("flat:8", False, ("flat", 8)),
    ("flat:16", False, ("flat", 16)), ("tile:64", False, ("tile", 1)),
    ("tile:64:2", False, ("tile", 2)), ("mma:64", True, ("mma", 1)),
    ("mma:64", False, ("tile", 1)),   # no tensor cores allowed: the SIMT tile of that edge
    ("mma:32", True, ("tile", 1)),
])
def test_variant_overrides(choose, variant, mma, expected):
    assert choose(512, 512, 0.05, 64, mma=mma, variant=variant) == expected


@pytest.mark.parametrize("variant, expected", [
    ("flat:1:4", ("flat", 1, 4, 2)), ("flat:4:8", ("flat", 4, 8, 2)),
    ("flat:4:3", ("flat", 4, 1, 2)),   # 1, 4 or 8 lanes an entry
    ("mma:64", ("mma", 1, 1, 2)), ("mma:64:2:1", ("mma", 2, 1, 1)), ("mma:64:1:1", ("mma", 1, 1, 1)),
])
def test_variant_overrides_lanes_and_warp_groups(choose, variant, expected):
    assert choose(512, 512, 0.05, 64, mma=True, variant=variant, full=True) == expected


@pytest.mark.parametrize("m, k, density, d, mma, expected", [
    (512, 512, 0.5, 64, 1, ("mma", 1, 2)),     # 64 tiles, d <= 256, 35%+: 2 blocks a tile
    (512, 512, 0.5, 64, 0, ("tile", 1, 2)),    # the SIMT tile too (session 23)
    (512, 512, 0.5, 128, 3, ("mma", 1, 2)),    # float32 at HIGHEST on 64 tiles: 3xTF32 too
    (512, 512, 0.2, 64, 3, ("mma", 1, 1)),     # ... under 35% in one
    (512, 512, 0.5, 256, 1, ("mma", 1, 2)),
    (512, 512, 0.2, 64, 1, ("mma", 1, 1)),     # under 35%: one
    (512, 512, 0.5, 384, 1, ("mma", 1, 1)),    # d > 256: one
    (512, 512, 0.5, 256, 3, ("mma", 2, 1)),    # d split over a cluster (3xTF32 at d = 256): one
    (512, 512, 0.5, 2048, 1, ("mma", 2, 1)),
    (2048, 512, 0.5, 64, 1, ("mma", 1, 1)),    # 256 tiles: one
    (512, 512, 0.02, 64, 1, ("flat", 1, 1)),   # the flat kernel: none
])
def test_output_shares(choose, m, k, density, d, mma, expected):
    assert choose(m, k, density, d, mma=mma, shares=True) == expected


@pytest.mark.parametrize("variant, expected", [
    ("tile:64:1:4", ("tile", 1, 4)), ("tile:64:1:2", ("tile", 1, 2)),
    ("tile:64:1:3", ("tile", 1, 1)),   # 1, 2 or 4 shares
    ("mma:64:1:2:2", ("mma", 1, 2)), ("mma:64:1:1:4", ("mma", 1, 4)),
    ("mma:64:2:2:4", ("mma", 2, 1)),   # with d split over a cluster, one share
    ("tile:64", ("tile", 1, 1)),
])
def test_variant_overrides_shares(choose, variant, expected):
    assert choose(512, 512, 0.05, 64, mma=True, variant=variant, shares=True) == expected


@pytest.mark.parametrize("variant, expected", [
    ("mma:64:1:2:1:8", ("mma", 1, 8)), ("mma:64:2:2:1:8", ("mma", 2, 8)),
    ("mma:64:1:2:1:6", ("mma", 1, 4)),   # 4 or 8
    ("mma:64", ("mma", 1, 4)),
])
def test_variant_overrides_3xtf32_warps(choose, variant, expected):
    assert choose(2048, 512, 0.3, 2048, mma=3, variant=variant, tile_warps=True) == expected


@pytest.mark.parametrize("m, k, density, d, expected", [
    (512, 512, 0.5, 256, ("mma", 2, 8)),     # split at d = 256: 8 warps (session 24)
    (512, 512, 0.8, 256, ("mma", 2, 8)),
    (512, 512, 0.5, 2048, ("mma", 2, 4)),    # split at d = 2048: 4
    (2048, 512, 0.3, 2048, ("mma", 1, 4)),   # unsplit on 256 tiles: 4
    (2048, 512, 0.3, 256, ("mma", 1, 4)),
    (512, 512, 0.5, 64, ("mma", 1, 8)),      # d = 64-128 on 48-127 tiles from 18% (session 44)
    (512, 512, 0.2, 128, ("mma", 1, 8)),
    (512, 2048, 0.2, 64, ("mma", 1, 4)),     # 256 tiles at d = 64: 4
])
def test_heuristic_3xtf32_warps(choose, m, k, density, d, expected):
    assert choose(m, k, density, d, mma=3, tile_warps=True) == expected


@pytest.mark.parametrize("m, k, density, d, mma, bytes, expected", [
    # 256 tiles: every type from d = 256 (3xTF32 since session 57)
    (512, 2048, 0.1, 2048, 3, 4, ("wgmma", 1)),
    (2048, 512, 0.3, 512, 3, 4, ("wgmma", 1)),
    (2048, 512, 0.3, 256, 3, 4, ("wgmma", 1)),
    (2048, 512, 0.3, 64, 3, 4, ("mma", 1)),
    (2048, 512, 0.3, 2048, 1, 4, ("wgmma", 1)),
    (2048, 512, 0.3, 256, 1, 4, ("wgmma", 1)),
    (2048, 512, 0.3, 256, 1, 2, ("wgmma", 1)),
    (2048, 512, 0.3, 128, 1, 4, ("mma", 1)),
    (2048, 512, 0.3, 64, 1, 2, ("mma", 1)),
    # 64 tiles: 16-bit from d = 512, split from 1024; TF32 and 3xTF32 split from d = 2048
    (512, 512, 0.3, 512, 1, 2, ("wgmma", 1)),
    (512, 512, 0.3, 1024, 1, 2, ("wgmma", 2)),
    (512, 512, 0.3, 256, 1, 2, ("mma", 1)),
    (512, 512, 0.3, 2048, 1, 4, ("wgmma", 2)),
    (512, 512, 0.3, 1024, 1, 4, ("mma", 2)),
    (512, 512, 0.3, 2048, 3, 4, ("wgmma", 2)),
    (512, 512, 0.3, 1024, 3, 4, ("mma", 2)),
    (512, 512, 0.3, 256, 3, 4, ("mma", 2)),
    # where no tensor-core tile runs, none
    (2048, 512, 0.03, 2048, 1, 4, ("flat", 1)),
    (2048, 512, 0.3, 2048, 0, 8, ("tile", 1)),
])
def test_wgmma_where_measured_faster(choose, m, k, density, d, mma, bytes, expected):
    assert choose(m, k, density, d, mma=mma, wgmma=True, bytes=bytes) == expected
    # Where it cannot run, the mma.sync tile it replaces.
    if expected[0] == "wgmma":
        assert choose(m, k, density, d, mma=mma, bytes=bytes)[0] == "mma"


@pytest.mark.parametrize("density, d, expected", [
    (0.05, 2048, ("wgmma", 1)),  # 5% at d >= 1024: under 3xTF32's 7% floor, still wgmma
    (0.05, 1024, ("wgmma", 1)),
    (0.05, 256, ("flat", 1)),    # at d = 256 the flat kernel holds
    (0.04, 2048, ("flat", 1)),   # under the measured 5%
])
def test_3xtf32_wgmma_below_the_split_floor(choose, density, d, expected):
    """Session 57: 2048 x 512 at 95% (256 tiles), wgmma in 3xTF32 against the flat kernel."""
    assert choose(2048, 512, density, d, mma=3, wgmma=True) == expected
    assert choose(2048, 512, density, d, mma=3)[0] == "flat"  # no wgmma: the floor stays 7%


def test_wgmma_variant_only_where_it_can_run(choose):
    assert choose(2048, 512, 0.3, 256, mma=1, variant="wgmma", wgmma=True, shares=True) == (
        "wgmma", 1, 1)
    assert choose(2048, 512, 0.3, 256, mma=1, variant="wgmma:1:2", wgmma=True, shares=True) == (
        "wgmma", 1, 2)
    assert choose(2048, 512, 0.3, 256, mma=1, variant="wgmma:2", wgmma=True, shares=True) == (
        "wgmma", 2, 1)  # d split over a cluster: one share
    # Not buildable / runnable, or no tensor cores: the heuristic's own choice.
    assert choose(2048, 512, 0.3, 256, mma=1, variant="wgmma") == choose(2048, 512, 0.3, 256,
                                                                          mma=1)
    assert choose(2048, 512, 0.3, 256, mma=0, variant="wgmma", wgmma=True) == choose(
        2048, 512, 0.3, 256, mma=0)
