# Session 56, call 6 (carry [".dlmc/wheel", ".dlmc/slim"]): the SDDMM benchmark at 5762ecd on the
# benchmark's 39 problems (call 5's run also took 15 copies of ResNet-50 layers that a stray folder
# had put into .dlmc/slim, as suite "other", and ran out of time before the transformer's 90%),
# then the SpMM benchmark in float32 (HIGHEST and DEFAULT) for the time left. Wheel built on the
# CPU machine by scripts/build_device_wheel.sh at 5762ecd.
set -u
OUT0=$OUT
W=$(ls $PWD/.dlmc/wheel/*.whl)
OUT=$OUT0/sddmm WHEEL=$W COMMIT=5762ecd DLMC=$PWD/.dlmc/slim STAGES="build bench" \
  BENCH_ARGS="--ops sddmm --limit-per-level 1 --skip-contenders dense*,bcoo*,bcsr* --time-budget 180" \
  bash scripts/gpu_run.sh > $OUT0/sddmm.log 2>&1
OUT=$OUT0/spmm WHEEL=$W COMMIT=5762ecd DLMC=$PWD/.dlmc/slim STAGES="bench" \
  BENCH_ARGS="--ops spmm --dtypes float32 --limit-per-level 1 --skip-contenders bcsr* --time-budget 140" \
  bash scripts/gpu_run.sh > $OUT0/spmm.log 2>&1
cd $OUT0
for op in spmm sddmm; do
  cp $op/bench/summary.md $op-summary.md 2>/dev/null; cp $op/bench/results.csv $op-results.csv 2>/dev/null
  tar czf $op.tar.gz $op $op.log && rm -rf $op $op.log
done
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader > env.txt
ls -la
