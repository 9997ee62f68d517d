# Session 56, call 2 (carry [".dlmc/bin/spmm_harness", ".dlmc/ab56", ".dlmc/s56"]): wgmma-local
# with its entries written through owner tiles instead of shared-memory float atomics (commit
# 42cfac2, .dlmc/ab56/spmm_harness_owner) against call 1's (c695329, .dlmc/bin/spmm_harness) and
# the heuristic, in turn, two rounds; then where its blocks' time goes (phase clocks:
# .dlmc/ab56/spmm_harness_owner_clock, built with -DJSDL_PHASE_CLOCK -DJSDL_PHASE_CLOCK_POINTS=5;
# points: start, owners written, tiles ready, sums joined, outputs stored); odd shapes, memcheck.
# Harnesses built on the CPU machine:
#   nvcc -std=c++17 -O3 -arch=sm_90a -DJSDL_SM90A -I$INC scripts/spmm_harness.cu -o ...
set -u
OLD=$PWD/.dlmc/bin/spmm_harness
NEW=$PWD/.dlmc/ab56/spmm_harness_owner
CLK=$PWD/.dlmc/ab56/spmm_harness_owner_clock
T0=$(date +%s)
for f in .dlmc/s56/*.smtx.gz; do gunzip -c $f > /tmp/$(basename $f .gz); done
one() {  # one HARNESS PATTERN N DTYPE VARIANT
  if [ "$5" != auto ]; then export JSDL_SPMM_VARIANT=$5; else unset JSDL_SPMM_VARIANT; fi
  echo "== $(basename $2) N=$3 $4 $5 $(basename $1) round $R"
  timeout 60 $1 $2 $3 $4 15 || echo "!! exit $?"
}
nof() {
  case $(basename $1) in
    J_*|K_*) echo 784;; L_*) echo 196;; M_*) echo 12544;; *) echo 3136;;
  esac
}
{
  for R in 1 2; do
    for p in /tmp/[ABCFGHIJKM]_*.smtx; do
      for t in float32 tf32; do
        if [ $R = 1 ]; then
          one $NEW $p $(nof $p) $t wgmma-local; one $OLD $p $(nof $p) $t wgmma-local; one $NEW $p $(nof $p) $t auto
        else
          one $NEW $p $(nof $p) $t auto; one $OLD $p $(nof $p) $t wgmma-local; one $NEW $p $(nof $p) $t wgmma-local
        fi
      done
    done
  done
  R=clock
  for p in /tmp/[ABFHK]_*.smtx; do
    for t in float32 tf32; do one $CLK $p $(nof $p) $t wgmma-local; done
  done
} > $OUT/ab.log 2>&1
echo "ab $(( $(date +%s) - T0 )) s; failures: $(grep -c '^!!' $OUT/ab.log)"
{
  R=odd
  for s in "1,1,1 4" "65,200,0.3 68" "130,256,0.7 100" "200,33,0.5 4" "300,100,0.02 132" \
    "64,256,0.001 64" "1000,250,0.1 36" "7,255,0.9 260" "64,256,1 64"; do
    for t in float32 tf32; do one $NEW $s $t wgmma-local; done
  done
  for t in float32 tf32; do
    JSDL_SPMM_VARIANT=wgmma-local timeout 120 compute-sanitizer --tool memcheck --error-exitcode 9 \
      $NEW 130,250,0.5 68 $t 1 2>&1 | tail -2
    echo "memcheck $t exit ${PIPESTATUS[0]}"
    JSDL_SPMM_VARIANT=wgmma-local timeout 120 compute-sanitizer --tool racecheck --error-exitcode 9 \
      $NEW 130,250,0.5 68 $t 1 2>&1 | tail -2
    echo "racecheck $t exit ${PIPESTATUS[0]}"
  done
} > $OUT/odd.log 2>&1
echo "odd $(( $(date +%s) - T0 )) s; failures: $(grep -c '^!!' $OUT/odd.log)"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader > $OUT/env.txt
