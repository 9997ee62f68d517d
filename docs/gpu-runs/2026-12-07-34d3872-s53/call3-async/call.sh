# Session 53, call 3 (carry [".dlmc/ab5", ".dlmc/slim"]; about 2 minutes; what finishes comes back if the device time runs out). Build first on the CPU
# machine: bash docs/gpu-runs/2026-12-07-34d3872-s53/call3-async/build.sh.
# SDDMM float32 at HIGHEST, the 3xTF32 mma tile's operand slices by cp.async, the first two in
# flight from the start (async-slices.patch), against head's register-staged slices: the
# heuristic's choice on the transformer's 64-tile and 256-tile patterns at d = 64, 256, 2048, each
# twice, in turn. Then odd shapes on the mma variants (each output checked against float64 by the
# harness), memcheck and racecheck, and phase clocks of the async tile.
set -u
D=$PWD/.dlmc/slim/transformer/magnitude_pruning
T0=$(date +%s)
for l in 0.5 0.6 0.7 0.8 0.9 0.95; do gunzip -c $D/$l/*.smtx.gz > /tmp/t$l.smtx; done
one() {  # one PATTERN D DTYPE VARIANT HARNESS
  echo "== $(basename $1) d=$2 $3 $4 $5 round $R"
  if [ "$4" != - ]; then export JSDL_SDDMM_VARIANT=$4; else unset JSDL_SDDMM_VARIANT; fi
  timeout 60 $PWD/.dlmc/ab5/sddmm_harness_$5 $1 $2 $3 9 || echo "!! exit $?"
}
specs=("/tmp/t0.5.smtx 64" "/tmp/t0.5.smtx 256" "/tmp/t0.5.smtx 2048" "/tmp/t0.8.smtx 64"
  "/tmp/t0.8.smtx 256" "/tmp/t0.8.smtx 2048" "/tmp/t0.6.smtx 64" "/tmp/t0.6.smtx 256"
  "/tmp/t0.7.smtx 64" "/tmp/t0.7.smtx 256" "/tmp/t0.9.smtx 64" "/tmp/t0.9.smtx 256"
  "/tmp/t0.95.smtx 256")
{
  for R in 1 2; do
    for spec in "${specs[@]}"; do
      if [ $R = 1 ]; then one $spec float32 - head; one $spec float32 - async
      else one $spec float32 - async; one $spec float32 - head; fi
    done
  done
  R=c
  for v in mma:64 mma:64:2 mma:64:1:2:1:8 mma:64:2:2:1:8; do
    for s in "130,200,0.3 1000" "64,64,0.5 96" "64,64,0.5 32" "200,70,0.4 2052" "64,64,0 512" \
      "1,1,1 4096" "333,129,0.05 260" "77,300,0.2 64" "33,64,0.5 36" "130,200,0.3 7"; do
      one $s float32 $v async
    done
  done
  for v in mma:64 mma:64:1:2:1:8; do
    JSDL_SDDMM_VARIANT=$v timeout 120 compute-sanitizer --tool memcheck --error-exitcode 9 \
      $PWD/.dlmc/ab5/sddmm_harness_async 130,200,0.3 1000 float32 1 2>&1 | tail -2
    echo "memcheck $v exit ${PIPESTATUS[0]}"
    JSDL_SDDMM_VARIANT=$v timeout 120 compute-sanitizer --tool racecheck --error-exitcode 9 \
      $PWD/.dlmc/ab5/sddmm_harness_async 64,64,0.5 96 float32 1 2>&1 | tail -2
    echo "racecheck $v exit ${PIPESTATUS[0]}"
  done
} > $OUT/async.log 2>&1
echo "async $(( $(date +%s) - T0 )) s; failures: $(grep -c '^!!' $OUT/async.log)"
R=p
{
  for spec in "/tmp/t0.5.smtx 64" "/tmp/t0.9.smtx 64" "/tmp/t0.5.smtx 256" "/tmp/t0.5.smtx 2048"; do
    one $spec float32 - asyncphase
  done
} > $OUT/phase.log 2>&1
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader > $OUT/env.txt
cp .dlmc/ab5/commit $OUT/harness-commit.txt
