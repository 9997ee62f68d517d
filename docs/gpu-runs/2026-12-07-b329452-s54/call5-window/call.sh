# Session 54, call 5, prepared, not run (carry [".dlmc/ab", ".dlmc/slim", ".dlmc/wheel"]; about
# 3 minutes). First, on the CPU machine: on main,
#   bash scripts/build_ab_harnesses.sh docs/gpu-runs/2026-12-07-b329452-s54/call5-window/window.patch window sddmm
# (.dlmc/ab/sddmm_harness_head and _window); then on a branch with window.patch applied by
# `git am`, bash scripts/build_device_wheel.sh; run the call from that branch (its tests/ has
# the patch's row-search cases).
# The SDDMM flat kernel's row search with row_offsets held in registers for m <= 512 (one memory
# latency, not two) and the column's load before it, against head: the heuristic's choice on
# every DLMC pattern of the benchmark that takes the flat kernel (ResNet-50's six, the
# transformer's 98%) at d = 64, 256, 2048, float32 at HIGHEST, and bfloat16 at d = 64, two rounds
# in turn; then odd shapes under the flat variants (each output checked against float64 by the
# harness) and memcheck.
set -u
S=$PWD/.dlmc/slim
T0=$(date +%s)
i=0
for f in $S/rn50/magnitude_pruning/*/*.smtx.gz $S/transformer/magnitude_pruning/0.98/*.smtx.gz; do
  i=$((i + 1)); gunzip -c $f > /tmp/p$i.smtx
done
one() {  # one PATTERN D DTYPE VARIANT HARNESS
  echo "== $(basename $1) d=$2 $3 $4 $5 round $R"
  if [ "$4" != - ]; then export JSDL_SDDMM_VARIANT=$4; else unset JSDL_SDDMM_VARIANT; fi
  timeout 60 $PWD/.dlmc/ab/sddmm_harness_$5 $1 $2 $3 9 || echo "!! exit $?"
}
{
  for R in 1 2; do
    for p in /tmp/p*.smtx; do
      for spec in "64 float32" "256 float32" "2048 float32" "64 bfloat16"; do
        if [ $R = 1 ]; then one $p $spec - head; one $p $spec - window
        else one $p $spec - window; one $p $spec - head; fi
      done
    done
  done
  R=c
  for v in flat:1 flat:4 flat:1:4 flat:8:8; do
    for s in "512,8,0.005 40" "500,8,0.004 7" "513,64,0.05 64" "33,64,0.5 36" "32,50,0.3 64" \
      "1,1,1 8" "512,512,0.02 64" "300,2000,0.001 260" "1024,64,0.01 64"; do
      one $s float32 $v window
    done
  done
  for v in flat:1 flat:1:4; do
    JSDL_SDDMM_VARIANT=$v timeout 120 compute-sanitizer --tool memcheck --error-exitcode 9 \
      $PWD/.dlmc/ab/sddmm_harness_window 512,8,0.005 40 float32 1 2>&1 | tail -2
    echo "memcheck $v exit ${PIPESTATUS[0]}"
  done
} > $OUT/window.log 2>&1
echo "window $(( $(date +%s) - T0 )) s; failures: $(grep -c '^!!' $OUT/window.log)"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader > $OUT/env.txt
# Then, in the same call, the flat variants' GPU tests with the patch's wheel:
OUT=$OUT/tests WHEEL=$(ls $PWD/.dlmc/wheel/*.whl) COMMIT=$(cat .dlmc/wheel/commit) \
  DLMC=$PWD/.dlmc/slim STAGES="build pytest" PYTEST_PATHS="$PWD/tests/test_gpu_variants.py" \
  PYTEST_ARGS="-k flat" PYTEST_WORKERS=16 PYTEST_SECONDS=100 bash scripts/gpu_run.sh > /dev/null 2>&1
tail -2 $OUT/tests/pytest-gpu.log
