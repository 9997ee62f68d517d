# Prepared in session 59 (no machine started; README.md here). C=<the patched commit>; carry
# [".dlmc/ab59", ".dlmc/slim", ".dlmc/wheel"]. The SDDMM with the pattern's entry rows
# (entry-rows.patch: the flat kernel reads an entry's row beside its column instead of searching
# row_offsets; the tile kernels' output takes it beside the column instead of a search in shared
# memory), A/B in the SDDMM harness timed as CUDA graphs of 50 launches (JSDL_HARNESS_GRAPH=1;
# host launch work out of the loop). Arms: head (the unpatched SDDMM code), rows1 (the patch with
# entry rows, which the package passes on every call). Binaries in .dlmc/ab59, built as
# README.md says.
# The order puts first what a short call must keep: float32 at HIGHEST, d = 64, on all 13
# patterns of .dlmc/slim (two rounds, the second with the arms in reverse order); the GPU tests of
# the package at C (the wheel from scripts/build_device_wheel.sh): test_sddmm.py (100 s cap); the
# same A/B at d = 256; test_gpu_variants.py -k sddmm (100 s cap); test_gpu.py, test_lowering.py,
# test_spmm.py (60 s cap); compute-sanitizer memcheck with entry rows on odd random shapes under
# the flat and tile variants.
set -u
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader > $OUT/env.txt
cat $OUT/env.txt
S=$PWD/.dlmc/slim
A=$PWD/.dlmc/ab59
export JSDL_HARNESS_GRAPH=1
P=()
for f in $S/transformer/magnitude_pruning/*/*.smtx.gz $S/rn50/magnitude_pruning/*/*.smtx.gz; do
  n=/tmp/$(basename $(dirname $(dirname $(dirname $f))))_$(basename $(dirname $f)).smtx
  gunzip -c $f > $n; P+=($n)
done
arm() {  # arm NAME PATTERN D DTYPE
  case $1 in
    head) B=$A/sddmm_head; unset JSDL_HARNESS_ENTRY_ROWS ;;
    rows1) B=$A/sddmm_rows; export JSDL_HARNESS_ENTRY_ROWS=1 ;;
  esac
  echo "== $(basename $2) d=$3 $4 $1 round $R"
  timeout 30 $B $2 $3 $4 15 || echo "!! exit $?"
}
ab() {  # ab D LOG: both arms on every pattern, two rounds, the second in reverse order
  local T0=$(date +%s)
  {
    ARMS="head rows1"
    for R in 1 2; do
      for p in "${P[@]}"; do
        for a in $ARMS; do arm $a $p $1 float32; done
      done
      ARMS="rows1 head"
    done
  } > $OUT/$2 2>&1
  echo "$2 $(( $(date +%s) - T0 )) s; failures: $(grep -c '^!!' $OUT/$2)"
}
ab 64 ab64.log
C=${C:?set C to the commit of the wheel}
W=$(ls $PWD/.dlmc/wheel/*.whl)
T0=$(date +%s)
OUT0=$OUT
OUT=$OUT0/tests WHEEL=$W COMMIT=$C STAGES="build pytest" PYTEST_SECONDS=100 \
  PYTEST_PATHS="$PWD/tests/test_sddmm.py" bash scripts/gpu_run.sh > $OUT0/tests.log 2>&1
echo "tests $(( $(date +%s) - T0 )) s: $(grep -h ' passed\| failed' $OUT0/tests/*.log | tail -2 | tr '\n' ' ')"
(cd $OUT0 && tar czf tests.tar.gz tests tests.log && rm -rf tests tests.log)
OUT=$OUT0
ab 256 ab256.log
OUT=$OUT0/tests3 WHEEL=$W COMMIT=$C STAGES="pytest" PYTEST_SECONDS=100 \
  PYTEST_PATHS="$PWD/tests/test_gpu_variants.py" PYTEST_ARGS="-k sddmm" \
  bash scripts/gpu_run.sh > $OUT0/tests3.log 2>&1
echo "tests3 $(( $(date +%s) - T0 )) s: $(grep -h ' passed\| failed' $OUT0/tests3/*.log | tail -2 | tr '\n' ' ')"
# The SpMM handler takes the new operand too: its GPU tests (time-capped) and test_gpu.py.
OUT=$OUT0/tests2 WHEEL=$W COMMIT=$C STAGES="pytest" PYTEST_SECONDS=60 \
  PYTEST_PATHS="$PWD/tests/test_gpu.py $PWD/tests/test_lowering.py $PWD/tests/test_spmm.py" \
  bash scripts/gpu_run.sh > $OUT0/tests2.log 2>&1
echo "tests2 $(( $(date +%s) - T0 )) s: $(grep -h ' passed\| failed' $OUT0/tests2/*.log | tail -2 | tr '\n' ' ')"
(cd $OUT0 && tar czf tests23.tar.gz tests2 tests2.log tests3 tests3.log && rm -rf tests2 tests2.log tests3 tests3.log)
OUT=$OUT0
T0=$(date +%s)
{
  set -o pipefail
  unset JSDL_HARNESS_GRAPH
  export JSDL_HARNESS_ENTRY_ROWS=1
  for v in flat:1:8 flat:4:4 mma:64 wgmma; do
    for shape in "300,200,0.1 32" "65,1000,0.02 16"; do
      set -- $shape
      echo "== memcheck $v $1 d=$2"
      JSDL_SDDMM_VARIANT=$v timeout 60 compute-sanitizer --tool memcheck --error-exitcode 9 \
        $A/sddmm_rows $1 $2 float32 1 2>&1 | grep -v "^  an empty" || echo "!! exit $?"
    done
  done
} > $OUT/memcheck.log 2>&1
echo "memcheck $(( $(date +%s) - T0 )) s; failures: $(grep -c '^!!' $OUT/memcheck.log); errors: $(grep -c 'ERROR SUMMARY: [1-9]' $OUT/memcheck.log)"

