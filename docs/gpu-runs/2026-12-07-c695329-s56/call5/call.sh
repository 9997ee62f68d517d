# Session 56, call 5 (carry [".dlmc/wheel", ".dlmc/bin/spmm_harness", ".dlmc/old56/spmm_harness",
# ".dlmc/slim"]): 5762ecd, its wheel and SpMM harness built on the CPU machine by
# scripts/build_device_wheel.sh (LDS for the TMA kernels' stages, the SpMM 3xTF32 tile's stages
# through a generic pointer as before; wgmma-local removed).
# 1. SpMM harness, c695329 (old56, call 3's old) against 5762ecd (bin), the heuristic's choice on
#    the transformer's 256-tile patterns at N = 2048, float32 (HIGHEST: 3xTF32 kept as it was?),
#    tf32, bfloat16, two rounds in turn.
# 2. GPU tests from the wheel: tests/test_gpu_variants.py -k wgmma, then tests/test_sddmm.py,
#    test_spmm.py and test_gpu.py.
# 3. The SDDMM benchmark (all 39 problems, 1 DLMC matrix a level; dense, bcoo and bcsr left out).
set -u
S=$PWD/.dlmc/slim
T0=$(date +%s)
for l in 0.6 0.7 0.9; do gunzip -c $S/transformer/magnitude_pruning/$l/*.smtx.gz > /tmp/t$l.smtx; done
one() {  # one HARNESS PATTERN SIZE DTYPE
  echo "== $(basename $2) size=$3 $4 auto $1 round $R"
  timeout 60 $1 $2 $3 $4 15 || echo "!! exit $?"
}
{
  unset JSDL_SPMM_VARIANT
  for R in 1 2; do for p in /tmp/t0.6.smtx /tmp/t0.7.smtx /tmp/t0.9.smtx; do
    for t in float32 tf32 bfloat16; do
      if [ $R = 1 ]; then hs="old56 bin"; else hs="bin old56"; fi
      for h in $hs; do one .dlmc/$h/spmm_harness $p 2048 $t; done
    done
  done; done
} > $OUT/spmm-ab.log 2>&1
echo "spmm-ab $(( $(date +%s) - T0 )) s; failures: $(grep -c '^!!' $OUT/spmm-ab.log)"
OUT0=$OUT
W=$(ls $PWD/.dlmc/wheel/*.whl)
OUT=$OUT0/tests WHEEL=$W COMMIT=5762ecd STAGES="build pytest" \
  PYTEST_PATHS="$PWD/tests/test_gpu_variants.py" PYTEST_ARGS="-k wgmma" PYTEST_SECONDS=150 \
  bash scripts/gpu_run.sh > $OUT0/tests.log 2>&1
OUT=$OUT0/tests WHEEL=$W COMMIT=5762ecd STAGES="pytest" LOG=pytest-ops \
  PYTEST_PATHS="$PWD/tests/test_sddmm.py $PWD/tests/test_spmm.py $PWD/tests/test_gpu.py" \
  PYTEST_SECONDS=150 bash scripts/gpu_run.sh >> $OUT0/tests.log 2>&1
echo "tests $(( $(date +%s) - T0 )) s: $(grep -h ' passed\| failed' $OUT0/tests/*.log | tail -3 | tr '\n' ' ')"
OUT=$OUT0/sddmm WHEEL=$W COMMIT=5762ecd DLMC=$S STAGES="bench" \
  BENCH_ARGS="--ops sddmm --limit-per-level 1 --skip-contenders dense*,bcoo*,bcsr* --time-budget 190" \
  bash scripts/gpu_run.sh > $OUT0/sddmm.log 2>&1
echo "bench $(( $(date +%s) - T0 )) s"
cd $OUT0
cp sddmm/bench/summary.md sddmm-summary.md 2>/dev/null; cp sddmm/bench/results.csv sddmm-results.csv 2>/dev/null
tar czf sddmm.tar.gz sddmm sddmm.log && rm -rf sddmm sddmm.log
tar czf tests.tar.gz tests tests.log && rm -rf tests tests.log
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader > env.txt
ls -la
