# Session 51, call 2 (carry [".dlmc/ab", ".dlmc/slim"]; about 2 minutes): the mma tile (variant
# "mma": spmm_harness_mma, 4 stages, and spmm_harness_mma3, 3 stages, built on the CPU machine
# from the working tree at edc552c + the mma tile) against edc552c's heuristic (spmm_harness_head), each call twice in turn, HIGHEST
# (float32) and DEFAULT (tf32), on every SpMM benchmark problem whose k fits the tile, then odd
# shapes for correctness (the harness checks against float64) and memcheck.
set -u
D=$PWD/.dlmc/slim
T0=$(date +%s)
RN=$D/rn50/magnitude_pruning TR=$D/transformer/magnitude_pruning
for f in $RN/*/*.smtx.gz $TR/*/*.smtx.gz; do
  lvl=$(basename $(dirname $f)); suite=$(echo $f | grep -q rn50 && echo r || echo t)
  gunzip -c $f > /tmp/$suite$lvl.smtx
done
one() {  # one PATTERN N DTYPE VARIANT HARNESS
  echo "== $(basename $1) n=$2 $3 $5 round $R"
  if [ "$4" != - ]; then export JSDL_SPMM_VARIANT=$4; else unset JSDL_SPMM_VARIANT; fi
  timeout 60 $PWD/.dlmc/ab/spmm_harness_$5 $1 $2 $3 9 || echo "!! exit $?"
}
specs=("/tmp/r0.5.smtx 3136" "/tmp/r0.7.smtx 3136" "/tmp/r0.8.smtx 784" "/tmp/r0.9.smtx 3136"
  "/tmp/r0.95.smtx 3136" "/tmp/r0.98.smtx 784" "/tmp/t0.5.smtx 256" "/tmp/t0.5.smtx 2048"
  "/tmp/t0.7.smtx 256" "/tmp/t0.7.smtx 2048" "/tmp/t0.8.smtx 256" "/tmp/t0.8.smtx 2048"
  "/tmp/t0.95.smtx 256" "/tmp/t0.98.smtx 256" "/tmp/r0.5.smtx 802816" "/tmp/r0.7.smtx 802816"
  "/tmp/r0.8.smtx 200704")
{
  for R in 1 2; do
    for dt in float32 tf32; do
      for spec in "${specs[@]}"; do
        if [ $R = 1 ]; then one $spec $dt - head; one $spec $dt mma mma
        else one $spec $dt mma mma; one $spec $dt - head; fi
      done
    done
  done
  R=s3  # 3 stages (spmm_harness_mma3) against the 4 of spmm_harness_mma
  for spec in "/tmp/r0.7.smtx 3136" "/tmp/r0.5.smtx 3136" "/tmp/t0.5.smtx 256" \
    "/tmp/r0.8.smtx 784" "/tmp/r0.7.smtx 802816"; do
    one $spec float32 mma mma3; one $spec float32 mma mma
  done
  R=c
  for dt in float32 tf32; do
    for s in "77,100,0.2 1000" "33,70,0.5 36" "1000,400,0.05 300" "3,50,0.5 200" \
      "500,700,0.3 128" "40,1,0.5 64" "64,64,0.01 68" "64,64,0 64" "2,900,0.5 8"; do
      one $s $dt mma mma
    done
  done
  for dt in float32 tf32; do
    JSDL_SPMM_VARIANT=mma timeout 90 compute-sanitizer --tool memcheck --error-exitcode 9 \
      $PWD/.dlmc/ab/spmm_harness_mma 77,100,0.2 1000 $dt 1 2>&1 | tail -2
    echo "memcheck exit ${PIPESTATUS[0]}"
    JSDL_SPMM_VARIANT=mma timeout 90 compute-sanitizer --tool racecheck --error-exitcode 9 \
      $PWD/.dlmc/ab/spmm_harness_mma 33,70,0.5 36 $dt 1 2>&1 | tail -2
    echo "racecheck exit ${PIPESTATUS[0]}"
  done
} > $OUT/mma.log 2>&1
echo "mma $(( $(date +%s) - T0 )) s; failures: $(grep -c '^!!' $OUT/mma.log)"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader > $OUT/env.txt
# Then the wheel of the commit with the mma tile and the GPU variant tests that name a tensor-core
# tile (-k mma: the SpMM and SDDMM mma and wgmma variants and tests); carry also [".dlmc/wheel"].
if [ -n "${WHEEL:-}" ]; then
  STAGES="build pytest" PYTEST_PATHS="$PWD/tests/test_gpu_variants.py" PYTEST_WORKERS=16 \
    PYTEST_SECONDS=240 PYTEST_ARGS="-k mma" bash scripts/gpu_run.sh > $OUT/suite-mma.log 2>&1
  echo "suite rc=$?; $(grep -E 'passed|failed' $OUT/pytest-gpu.log | tail -1)"
fi
