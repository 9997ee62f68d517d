# Prepared in session 51 (carry [".dlmc/ab", ".dlmc/slim"]; about 2-3 minutes). Build first on the
# CPU machine: bash docs/gpu-runs/2026-12-06-f43546c-s52/call1-mma/build.sh.
# The mma tile with its densify rewritten (batched entry loads) and k-groups (mma:2) against
# HEAD's heuristic, each call twice in turn, HIGHEST (float32) and DEFAULT (tf32), on the SpMM
# benchmark problems whose k fits the tile; odd shapes for correctness; memcheck and racecheck;
# Nsight Compute on ResNet-50's 70% call (mma and mma:2, float32).
set -u
D=$PWD/.dlmc/slim
T0=$(date +%s)
RN=$D/rn50/magnitude_pruning TR=$D/transformer/magnitude_pruning
for f in $RN/*/*.smtx.gz $TR/*/*.smtx.gz; do
  lvl=$(basename $(dirname $f)); suite=$(echo $f | grep -q rn50 && echo r || echo t)
  gunzip -c $f > /tmp/$suite$lvl.smtx
done
one() {  # one PATTERN N DTYPE VARIANT HARNESS
  echo "== $(basename $1) n=$2 $3 $5 $4 round $R"
  if [ "$4" != - ]; then export JSDL_SPMM_VARIANT=$4; else unset JSDL_SPMM_VARIANT; fi
  timeout 60 $PWD/.dlmc/ab/spmm_harness_$5 $1 $2 $3 9 || echo "!! exit $?"
}
specs=("/tmp/r0.5.smtx 3136" "/tmp/r0.7.smtx 3136" "/tmp/r0.8.smtx 784" "/tmp/r0.9.smtx 3136"
  "/tmp/r0.95.smtx 3136" "/tmp/t0.5.smtx 256" "/tmp/t0.5.smtx 2048" "/tmp/t0.7.smtx 256"
  "/tmp/t0.8.smtx 256" "/tmp/t0.8.smtx 2048" "/tmp/r0.7.smtx 802816")
{
  for R in 1 2; do
    for dt in float32 tf32; do
      for spec in "${specs[@]}"; do
        if [ $R = 1 ]; then one $spec $dt - head; one $spec $dt mma mma; one $spec $dt mma:2 mma
        else one $spec $dt mma:2 mma; one $spec $dt mma mma; one $spec $dt - head; fi
      done
    done
  done
  R=c
  for dt in float32 tf32; do
    for v in mma mma:2; do
      for s in "77,100,0.2 1000" "33,70,0.5 36" "1000,400,0.05 300" "3,50,0.5 200" \
        "500,700,0.3 128" "40,1,0.5 64" "64,64,0.01 68" "64,64,0 64" "2,900,0.5 8" \
        "70,1500,0.05 40"; do
        one $s $dt $v mma
      done
    done
  done
  for v in mma mma:2; do
    JSDL_SPMM_VARIANT=$v timeout 90 compute-sanitizer --tool memcheck --error-exitcode 9 \
      $PWD/.dlmc/ab/spmm_harness_mma 77,100,0.2 1000 float32 1 2>&1 | tail -2
    echo "memcheck $v exit ${PIPESTATUS[0]}"
    JSDL_SPMM_VARIANT=$v timeout 90 compute-sanitizer --tool racecheck --error-exitcode 9 \
      $PWD/.dlmc/ab/spmm_harness_mma 33,70,0.5 36 tf32 1 2>&1 | tail -2
    echo "racecheck $v exit ${PIPESTATUS[0]}"
  done
} > $OUT/mma.log 2>&1
echo "mma $(( $(date +%s) - T0 )) s; failures: $(grep -c '^!!' $OUT/mma.log)"
for v in mma mma:2; do
  echo "=== $v r70 float32"
  JSDL_SPMM_VARIANT=$v timeout 120 ncu --profile-from-start off --set full --import-source no \
    --print-details all $PWD/.dlmc/ab/spmm_harness_mma /tmp/r0.7.smtx 3136 float32 1 2>&1 |
    grep -v "^==PROF==" | head -400
done > $OUT/ncu-mma.txt 2>&1
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader > $OUT/env.txt
cp .dlmc/ab/commit $OUT/harness-commit.txt
