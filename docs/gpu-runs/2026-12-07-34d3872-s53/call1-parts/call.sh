# Session 53, call 1 (carry [".dlmc/ab4", ".dlmc/slim"]; about 5 minutes). Build first on the CPU
# machine: bash docs/gpu-runs/2026-12-07-34d3872-s53/call1-parts/build.sh.
# SDDMM float32 at HIGHEST: d split over a cluster of 4 blocks a tile (four-parts.patch:
# mma:64:4, wgmma:4) against the heuristic's choice and the 2-block split, on the transformer's
# 64-tile 512 x 512 patterns (50%, 80%) at d = 64-2048; other existing variants on its 256-tile
# patterns at d = 64 and 256. Each twice, in turn. Then odd shapes (every output checked against
# float64 by the harness), memcheck and racecheck of the 4-block splits.
set -u
D=$PWD/.dlmc/slim/transformer/magnitude_pruning
H=$PWD/.dlmc/ab4/sddmm_harness_four
T0=$(date +%s)
for l in 0.5 0.6 0.7 0.8 0.9 0.95; do gunzip -c $D/$l/*.smtx.gz > /tmp/t$l.smtx; done
one() {  # one PATTERN D DTYPE VARIANT
  echo "== $(basename $1) d=$2 $3 $4 round $R"
  if [ "$4" != - ]; then export JSDL_SDDMM_VARIANT=$4; else unset JSDL_SDDMM_VARIANT; fi
  timeout 60 $H $1 $2 $3 9 || echo "!! exit $?"
}
sweep() {  # sweep PATTERN D VARIANT...
  local p=$1 d=$2; shift 2
  local vs=("$@")
  if [ $R = 2 ]; then vs=(); for ((i=$#; i>0; i--)); do vs+=("${!i}"); done; fi
  for v in "${vs[@]}"; do one $p $d float32 $v; done
}
{
  for R in 1 2; do
    for p in /tmp/t0.5.smtx /tmp/t0.8.smtx; do
      sweep $p 2048 - mma:64:2 mma:64:4 wgmma:2 wgmma:4 mma:64:4:2:1:8
      sweep $p 1024 - mma:64:4 wgmma:4
      sweep $p 512 - mma:64:4 wgmma:4
      sweep $p 256 - mma:64:4:2:1:8 mma:64:4 wgmma:4 wgmma:2
      sweep $p 64 - mma:64:2:2:1:8 mma:64:1:2:4:8
    done
    for p in /tmp/t0.6.smtx /tmp/t0.7.smtx /tmp/t0.9.smtx /tmp/t0.95.smtx; do
      sweep $p 256 - mma:64:2 mma:64:2:2:1:8 mma:64:1:2:2:8 wgmma:2
      sweep $p 64 - mma:64:1:2:1:8 mma:64:1:2:2:8 mma:64:1:2:2
    done
  done
  R=c
  for v in mma:64:4 wgmma:4 mma:64:4:2:1:8; do
    for s in "130,200,0.3 1000" "64,64,0.5 96" "64,64,0.5 32" "200,70,0.4 2052" "64,64,0 512" \
      "1,1,1 4096" "333,129,0.05 260"; do
      one $s float32 $v
    done
  done
  for v in mma:64:4 wgmma:4; do
    JSDL_SDDMM_VARIANT=$v timeout 120 compute-sanitizer --tool memcheck --error-exitcode 9 \
      $H 130,200,0.3 1000 float32 1 2>&1 | tail -2
    echo "memcheck $v exit ${PIPESTATUS[0]}"
    JSDL_SDDMM_VARIANT=$v timeout 120 compute-sanitizer --tool racecheck --error-exitcode 9 \
      $H 64,64,0.5 96 float32 1 2>&1 | tail -2
    echo "racecheck $v exit ${PIPESTATUS[0]}"
  done
} > $OUT/parts.log 2>&1
echo "parts $(( $(date +%s) - T0 )) s; failures: $(grep -c '^!!' $OUT/parts.log)"
# Where the short calls' blocks spend their cycles (d-loop, output): the heuristic's choice.
H=$PWD/.dlmc/ab4/sddmm_harness_phase R=p
{
  for p in 0.5 0.8 0.6 0.9; do one /tmp/t$p.smtx 64 float32 -; done
  one /tmp/t0.5.smtx 256 float32 -
  for v in mma:64:2 wgmma:4; do one /tmp/t0.5.smtx 2048 float32 $v; done
} > $OUT/phase.log 2>&1
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader > $OUT/env.txt
cp .dlmc/ab4/commit $OUT/harness-commit.txt
