# Prepared in session 61 (README.md here; no machine was left for it). The SDDMM tile outputs'
# row by pattern density: a search of the tile rows' offsets in shared memory above 25% density,
# the entry_rows load below. C=<the commit with tile-rows-by-density.patch>; carry
# [".dlmc/ab59", ".dlmc/slimt", ".dlmc/wheel"]: the wheel from scripts/build_device_wheel.sh at C;
# .dlmc/ab59/sddmm_head (b5d1798's SDDMM, the search everywhere), sddmm_rows77 (77c4376, the load
# everywhere), sddmm_mixed (C), built as README.md says; .dlmc/slimt: .dlmc/slim's transformer.
# About 330 s after the machine's start:
# 1. Harness A/B/C, float32 at HIGHEST, d = 64 and 256, on the 7 transformer patterns, CUDA graphs
#    of 50 launches, two rounds (the second in reverse order); about 45 s.
# 2. test_sddmm.py and test_gpu_variants.py -k sddmm at C; about 175 s.
# 3. The SDDMM benchmark on the transformer patterns at C (the 50-70% levels come first: the
#    problems where C differs from 77c4376); raise --time-budget to 120 for all 21 when time allows.
set -u
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader > $OUT/env.txt
A=$PWD/.dlmc/ab59
export JSDL_HARNESS_GRAPH=1
P=()
for f in $PWD/.dlmc/slimt/transformer/magnitude_pruning/*/*.smtx.gz; do
  n=/tmp/transformer_$(basename $(dirname $f)).smtx; gunzip -c $f > $n; P+=($n)
done
T0=$(date +%s)
{
  for d in 64 256; do
    ARMS="head rows77 mixed"
    for R in 1 2; do
      for p in "${P[@]}"; do
        for a in $ARMS; do
          echo "== $(basename $p) d=$d float32 $a round $R"
          timeout 30 $A/sddmm_$a $p $d float32 15 || echo "!! exit $?"
        done
      done
      ARMS="mixed rows77 head"
    done
  done
} > $OUT/ab.log 2>&1
echo "ab $(( $(date +%s) - T0 )) s; failures: $(grep -c '^!!' $OUT/ab.log)"
W=$(ls $PWD/.dlmc/wheel/*.whl)
OUT0=$OUT
OUT=$OUT0/t WHEEL=$W COMMIT=${C:?} STAGES="build pytest" PYTEST_SECONDS=250 \
  PYTEST_PATHS="$PWD/tests/test_sddmm.py $PWD/tests/test_gpu_variants.py" PYTEST_ARGS="-k sddmm" \
  bash scripts/gpu_run.sh > $OUT0/tests.log 2>&1
echo "tests $(( $(date +%s) - T0 )) s: $(grep -h ' passed\| failed' $OUT0/t/*.log | tail -2 | tr '\n' ' ')"
OUT=$OUT0/sddmm WHEEL=$W COMMIT=$C DLMC=$PWD/.dlmc/slimt STAGES="bench" \
  BENCH_ARGS="--ops sddmm --limit-per-level 1 --skip-contenders dense*,bcoo*,bcsr* --time-budget 40" \
  bash scripts/gpu_run.sh > $OUT0/sddmm.log 2>&1
echo "bench $(( $(date +%s) - T0 )) s"
cd $OUT0 && cp sddmm/bench/summary.md sddmm-summary.md && cp sddmm/bench/results.csv sddmm-results.csv
tar czf tests.tar.gz t tests.log sddmm sddmm.log && rm -rf t tests.log sddmm sddmm.log
