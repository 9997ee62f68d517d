# Session 56, call 1 (carry [".dlmc/wheel", ".dlmc/bin/spmm_harness", ".dlmc/s56", ".dlmc/s56b"]):
# the wgmma tile densified in the block (variant wgmma-local, c695329) against the heuristic's
# choice and the wgmma tile, in the standalone harness (CUDA events, each output checked against
# float64), then its GPU tests from the wheel. Built on the CPU machine by
# scripts/build_device_wheel.sh at c695329 (.dlmc/wheel, .dlmc/bin/spmm_harness); .dlmc/s56 holds 13
# DLMC ResNet-50 magnitude-pruning patterns with k <= 256 (file names: letter, level, m x k).
# 1. ab: each pattern at its batch-1 N (rn50_batchsizes.txt), float32 at HIGHEST and TF32, the
#    heuristic (auto), wgmma-local and wgmma, two rounds in turn (the second in reverse order);
#    two many-wave calls (N = 802816) once.
# 2. odd shapes under wgmma-local; memcheck and racecheck.
# 3. pytest (scripts/gpu_run.sh, the wheel): tests/test_gpu_variants.py -k wgmma, among them the
#    variant suite's and the wgmma tests' wgmma-local cases.
set -u
H=$PWD/.dlmc/bin/spmm_harness
T0=$(date +%s)
for f in .dlmc/s56/*.smtx.gz; do gunzip -c $f > /tmp/$(basename $f .gz); done
one() {  # one PATTERN N DTYPE VARIANT
  if [ "$4" != auto ]; then export JSDL_SPMM_VARIANT=$4; else unset JSDL_SPMM_VARIANT; fi
  echo "== $(basename $1) N=$2 $3 $4 round $R"
  timeout 60 $H $1 $2 $3 15 || echo "!! exit $?"
}
nof() {  # the batch-1 N of a pattern file by its letter
  case $(basename $1) in
    J_*|K_*) echo 784;; L_*) echo 196;; M_*) echo 12544;; *) echo 3136;;
  esac
}
{
  for R in 1 2; do
    for p in /tmp/[A-M]_*.smtx; do
      for t in float32 tf32; do
        if [ $R = 1 ]; then vs="auto wgmma-local wgmma"; else vs="wgmma wgmma-local auto"; fi
        for v in $vs; do one $p $(nof $p) $t $v; done
      done
    done
  done
  R=w
  for p in /tmp/A_*.smtx /tmp/B_*.smtx; do
    for t in float32 tf32; do for v in auto wgmma-local; do one $p 802816 $t $v; done; done
  done
} > $OUT/ab.log 2>&1
echo "ab $(( $(date +%s) - T0 )) s; failures: $(grep -c '^!!' $OUT/ab.log)"
{
  R=odd
  for s in "1,1,1 4" "64,64,1 64" "65,200,0.3 68" "130,256,0.7 100" "200,33,0.5 4" \
    "300,100,0.02 132" "64,256,0.001 64" "129,129,0.5 8" "1000,250,0.1 36" "7,255,0.9 260"; do
    for t in float32 tf32; do one $s $t wgmma-local; done
  done
  for tool in memcheck racecheck; do
    for t in float32 tf32; do
      JSDL_SPMM_VARIANT=wgmma-local timeout 120 compute-sanitizer --tool $tool --error-exitcode 9 \
        $H 130,250,0.5 68 $t 1 2>&1 | tail -2
      echo "$tool $t exit ${PIPESTATUS[0]}"
    done
  done
} > $OUT/odd.log 2>&1
echo "odd $(( $(date +%s) - T0 )) s; failures: $(grep -c '^!!' $OUT/odd.log)"
OUT0=$OUT
OUT=$OUT0/gpu WHEEL=$(ls $PWD/.dlmc/wheel/*.whl) COMMIT=c695329 STAGES="build pytest" \
  PYTEST_PATHS="$PWD/tests/test_gpu_variants.py" PYTEST_ARGS="-k wgmma" PYTEST_SECONDS=240 \
  bash scripts/gpu_run.sh > $OUT0/gpu.log 2>&1
OUT=$OUT0
echo "pytest $(( $(date +%s) - T0 )) s: $(grep -h 'passed\|failed' $OUT/gpu/*.log | tail -2)"
(cd $OUT && tar czf gpu.tar.gz gpu gpu.log && rm -rf gpu)
{ nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
  python -c "import jax; print('jax', jax.__version__)"; } > $OUT/env.txt 2>&1
