# Session 56, call 4 (carry [".dlmc/old56", ".dlmc/ab56", ".dlmc/s56", ".dlmc/slim"]).
# 1. The SpMM wgmma tile's 3xTF32 chunk, 4-7% slower with LDS in call 3: c695329 (old56) against
#    call 3's build (new: LDS everywhere) and new2 (the same, but the 3xTF32 fragment loads through
#    a generic pointer again: HideSharedSpace), the transformer's 256-tile patterns and 512 x 512 at
#    N = 2048, float32 (HIGHEST) and tf32, two rounds in turn.
# 2. Nsight Compute's warp states (is it instruction fetch?) on short calls: wgmma-local and the
#    heuristic on ResNet-50's 64 x 64 at 50% and 128 x 256 at 70%, and the SDDMM losers at d = 64.
set -u
S=$PWD/.dlmc/slim
T0=$(date +%s)
for f in .dlmc/s56/*.smtx.gz; do gunzip -c $f > /tmp/$(basename $f .gz); done
for l in 0.5 0.6 0.7 0.9 0.98; do gunzip -c $S/transformer/magnitude_pruning/$l/*.smtx.gz > /tmp/t$l.smtx; done
gunzip -c $S/rn50/magnitude_pruning/0.98/*.smtx.gz > /tmp/r98.smtx
one() {  # one HARNESS PATTERN SIZE DTYPE
  echo "== $(basename $2) size=$3 $4 auto $(basename $1) round $R"
  timeout 60 $1 $2 $3 $4 15 || echo "!! exit $?"
}
{
  unset JSDL_SPMM_VARIANT
  for R in 1 2; do
    for p in /tmp/t0.5.smtx /tmp/t0.6.smtx /tmp/t0.7.smtx /tmp/t0.9.smtx; do
      for t in float32 tf32; do
        if [ $R = 1 ]; then hs="old56/spmm_harness ab56/spmm_harness_new ab56/spmm_harness_new2"
        else hs="ab56/spmm_harness_new2 ab56/spmm_harness_new old56/spmm_harness"; fi
        for h in $hs; do one .dlmc/$h $p 2048 $t; done
      done
    done
  done
} > $OUT/spmm.log 2>&1
echo "spmm $(( $(date +%s) - T0 )) s; failures: $(grep -c '^!!' $OUT/spmm.log)"
NCU="ncu --profile-from-start off --section WarpStateStats --section SpeedOfLight --section Occupancy --section SchedulerStats --section LaunchStats"
{
  for c in "A_r50_64x64 3136 wgmma-local" "A_r50_64x64 3136 auto" "B_r70_128x256 3136 wgmma-local" \
    "B_r70_128x256 3136 auto"; do
    set -- $c
    echo "=== spmm $c"
    if [ $3 = auto ]; then unset JSDL_SPMM_VARIANT; else export JSDL_SPMM_VARIANT=$3; fi
    timeout 120 $NCU .dlmc/ab56/spmm_harness_new2 /tmp/$1.smtx $2 float32 3
  done
  unset JSDL_SPMM_VARIANT
  for c in "r98 64" "t0.98 64" "t0.5 64"; do
    set -- $c
    echo "=== sddmm $c float32"
    timeout 120 $NCU .dlmc/ab56/sddmm_harness_new /tmp/$1.smtx $2 float32 3
  done
} > $OUT/ncu.log 2>&1
echo "ncu $(( $(date +%s) - T0 )) s"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader > $OUT/env.txt
