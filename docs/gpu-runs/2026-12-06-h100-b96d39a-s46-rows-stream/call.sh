# Prepared in session 46 (carry [".dlmc/bin", ".dlmc/wheel", ".dlmc/slim"]; about 7 minutes):
# the wide stream kernel with a row per 8-lane group (rows-stream) against the wide stream kernel
# (wide-stream) and the heuristic (auto), by the standalone harness built on the CPU machine
# (scripts/build_device_wheel.sh; .dlmc/bin/commit names its commit).
# 1. harness.log: the benchmark's 13 DLMC problems (scripts/slim_dlmc.py --limit-per-level 1) at
#    their N (rn50: batch 1 and 256; transformer: 256 and 2048) and ResNet-50's 128 x 512 at four
#    densities (rows of 10-77 entries, N = 200704), float32 and bfloat16, the three in turn, twice.
# 2. ncu.log: Nsight Compute on rows-stream and wide-stream, ResNet-50's 128 x 256 at 95%.
# 3. The GPU tests of the variants and the MobileNet training test (the wheel of this commit), and
#    compute-sanitizer memcheck of rows-stream.
set -u
C=${COMMIT:?COMMIT=<hash>}
SP=$PWD/.dlmc/bin/spmm_harness
D=$PWD/.dlmc/slim
T0=$(date +%s)
$SP 64,64,0.5 16 float32 1 > /dev/null 2>&1 || { echo "the carried harness does not run"; exit 1; }
problems=()
for f in $(find $D -name '*.smtx.gz' | sort); do
  suite=$(basename $(dirname $(dirname $(dirname $f)))); level=$(basename $(dirname $f))
  name=$(basename $f .smtx.gz); tmp=/tmp/$suite-$level-$name.smtx
  gunzip -c $f > $tmp
  if [ $suite = rn50 ]; then
    n1=$(grep "^$name," $D/rn50_batchsizes.txt | cut -d, -f2)
    problems+=("$tmp:$n1" "$tmp:$((n1 * 256))")
  else
    problems+=("$tmp:256" "$tmp:2048")
  fi
done
for d in 0.02 0.04 0.08 0.15; do problems+=("128,512,$d:200704"); done
for r in 1 2; do
  for p in "${problems[@]}"; do
    for dt in float32 bfloat16; do
      vs="auto wide-stream rows-stream"; [ $r = 2 ] && vs="rows-stream wide-stream auto"
      for v in $vs; do
        echo "== $(basename ${p%:*}) n=${p##*:} $dt $v round $r"
        JSDL_SPMM_VARIANT=$([ $v = auto ] || echo $v) timeout 20 $SP ${p%:*} ${p##*:} $dt 9 \
          || echo "!! exit $?"
      done
    done
  done
done > $OUT/harness.log 2>&1
echo "harness $(( $(date +%s) - T0 )) s"
R95=/tmp/rn50-0.95-bottleneck_1_block_group_projection_block_group2.smtx
for v in rows-stream wide-stream; do
  JSDL_SPMM_VARIANT=$v timeout 60 ncu --profile-from-start off --section SpeedOfLight \
    --section SchedulerStats --section WarpStateStats --section LaunchStats --section Occupancy \
    --metrics smsp__inst_executed.sum,smsp__sass_thread_inst_executed_op_ffma_pred_on.sum \
    $SP $R95 802816 float32 1 2>&1 | grep -v "^==PROF==" | grep -vE "^\s*$|----"
done > $OUT/ncu.log 2>&1
echo "ncu $(( $(date +%s) - T0 )) s"
WHEEL=$(ls .dlmc/wheel/*.whl) COMMIT=$C STAGES="build pytest memcheck" PYTEST_WORKERS=16 \
  PYTEST_SECONDS=240 PYTEST_PATHS="$PWD/tests/test_gpu_variants.py $PWD/tests/test_nn_mobilenet.py" \
  MEMCHECK_RUNS="spmm:rows-stream spmm:rows-stream:3" bash scripts/gpu_run.sh
echo "all $(( $(date +%s) - T0 )) s"; grep -c "^!!" $OUT/harness.log
