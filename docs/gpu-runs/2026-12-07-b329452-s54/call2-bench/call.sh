# Session 54, call 2 (carry [".dlmc/wheel", ".dlmc/slim"]; under 10 minutes): the SpMM and SDDMM
# benchmarks at f8f040f (package code as edc552c's) with its wheel, built on the CPU machine by
# scripts/build_device_wheel.sh. The device returns at most 8 files: each benchmark's folder is
# packed into one archive, its summary.md and results.csv left beside it.
set -u
W=$(ls $PWD/.dlmc/wheel/*.whl)
OUT0=$OUT
OUT=$OUT0/spmm WHEEL=$W COMMIT=f8f040f DLMC=$PWD/.dlmc/slim STAGES="build bench" \
  BENCH_ARGS="--ops spmm --limit-per-level 1 --skip-contenders bcsr* --time-budget 300" \
  bash scripts/gpu_run.sh > $OUT0/spmm.log 2>&1
OUT=$OUT0/sddmm WHEEL=$W COMMIT=f8f040f DLMC=$PWD/.dlmc/slim STAGES="bench" \
  BENCH_ARGS="--ops sddmm --limit-per-level 1 --skip-contenders dense*,bcoo*,bcsr* --time-budget 190" \
  bash scripts/gpu_run.sh > $OUT0/sddmm.log 2>&1
cd $OUT0
for op in spmm sddmm; do
  cp $op/bench/summary.md $op-summary.md 2>/dev/null; cp $op/bench/results.csv $op-results.csv 2>/dev/null
  tar czf $op.tar.gz $op $op.log && rm -rf $op $op.log
done
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader > env.txt
ls -la
