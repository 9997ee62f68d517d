# Prepared in session 59 (README.md here). Carry [".dlmc/wheel", ".dlmc/slim"]; the wheel from
# scripts/build_device_wheel.sh at C, the patched commit: the entry rows in the package.
# 1. GPU tests: test_gpu.py, test_lowering.py and test_spmm.py (100 s cap; the SDDMM's ran in
#    call 1).
# 2. The SDDMM benchmark, all 39 problems (as session 58's call 1), against cuSPARSE.
set -u
C=${C:?set C to the commit of the wheel}
S=$PWD/.dlmc/slim
W=$(ls $PWD/.dlmc/wheel/*.whl)
T0=$(date +%s)
OUT0=$OUT
# The SpMM and softmax handlers take the new operand too: their GPU tests, time-capped.
OUT=$OUT0/tests2 WHEEL=$W COMMIT=$C STAGES="build pytest" PYTEST_SECONDS=100 \
  PYTEST_PATHS="$PWD/tests/test_gpu.py $PWD/tests/test_lowering.py $PWD/tests/test_spmm.py" \
  bash scripts/gpu_run.sh > $OUT0/tests2.log 2>&1
echo "tests2 $(( $(date +%s) - T0 )) s: $(grep -h ' passed\| failed' $OUT0/tests2/*.log | tail -2 | tr '\n' ' ')"
(cd $OUT0 && tar czf tests2.tar.gz tests2 tests2.log && rm -rf tests2 tests2.log)
OUT=$OUT0/sddmm WHEEL=$W COMMIT=$C DLMC=$S STAGES="bench" \
  BENCH_ARGS="--ops sddmm --limit-per-level 1 --skip-contenders dense*,bcoo*,bcsr* --time-budget 170" \
  bash scripts/gpu_run.sh > $OUT0/sddmm.log 2>&1
echo "bench $(( $(date +%s) - T0 )) s"
cp $OUT0/sddmm/bench/summary.md $OUT0/sddmm-summary.md; cp $OUT0/sddmm/bench/results.csv $OUT0/sddmm-results.csv
cd $OUT0 && tar czf sddmm.tar.gz sddmm sddmm.log && rm -rf sddmm sddmm.log
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader > env.txt
cat env.txt
