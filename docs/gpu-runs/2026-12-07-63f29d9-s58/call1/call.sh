# Prepared in session 57 (its device time ran out). One call, about 6 minutes:
# 1. GPU tests of session 57's SDDMM rules (22201f0: 3xTF32 on the wgmma tile from d = 256 on
#    256 tiles, at 5% from d = 1024, split over a cluster on fewer tiles than SMs at d > 1024):
#    test_sddmm.py and test_gpu_variants.py -k sddmm (session 57 ran them at feb3d55, before its
#    last test change and the 64-tile rule).
# 2. Harness A/B, float32 at HIGHEST, d = 64 on the transformer's 256-tile patterns (60%, 70%,
#    90%): the heuristic's mma.sync 3xTF32 tile of 4 warps against 8 warps of 32 x 16
#    (mma:64:1:2:1:8), which won 1.1-1.3x at d = 64 on 64-128 tiles (sessions 44-45) and was
#    never measured at d = 64 on 256 tiles; two rounds in turn.
# 2b. (added in session 58) Harness A/B, SpMM on ResNet-50's batch-256 layers (N = 802816 and
#    200704), TF32 and bfloat16: the heuristic (the wgmma tile) against no-wgmma (the CUDA-core
#    stream kernel). The benchmark found TF32 at 95% (128 x 256) slower than float32 at HIGHEST
#    (597-607 against 494-503 us, sessions 54 and 56): the wgmma tile's model has no memory term.
# 3. The SDDMM benchmark, all 39 problems (the run of record for session 57's rules).
# Build on the CPU machine at the commit to measure (clean tree): bash scripts/build_device_wheel.sh;
# python3 scripts/slim_dlmc.py .dlmc .dlmc/slim --limit-per-level 1 (only rn50/ and transformer/
# in .dlmc/slim). Set C below to that commit. Carry [".dlmc/wheel", ".dlmc/bin/sddmm_harness",
# ".dlmc/slim", ".dlmc/bin/spmm_harness"].
set -u
C=${C:?set C to the commit of the wheel}
S=$PWD/.dlmc/slim
H=$PWD/.dlmc/bin/sddmm_harness
W=$(ls $PWD/.dlmc/wheel/*.whl)
T0=$(date +%s)
OUT0=$OUT
OUT=$OUT0/tests WHEEL=$W COMMIT=$C STAGES="build pytest" PYTEST_SECONDS=170 \
  PYTEST_PATHS="$PWD/tests/test_sddmm.py $PWD/tests/test_gpu_variants.py" PYTEST_ARGS="-k sddmm" \
  bash scripts/gpu_run.sh > $OUT0/tests.log 2>&1
echo "tests $(( $(date +%s) - T0 )) s: $(grep -h ' passed\| failed' $OUT0/tests/*.log | tail -2 | tr '\n' ' ')"
(cd $OUT0 && tar czf tests.tar.gz tests tests.log && rm -rf tests tests.log)
for l in 0.6 0.7 0.9; do gunzip -c $S/transformer/magnitude_pruning/$l/*.smtx.gz > /tmp/t$l.smtx; done
one() {  # one PATTERN VARIANT
  if [ "$2" != auto ]; then export JSDL_SDDMM_VARIANT=$2; else unset JSDL_SDDMM_VARIANT; fi
  echo "== $(basename $1) d=64 float32 $2 round $R"
  timeout 60 $H $1 64 float32 15 || echo "!! exit $?"
}
{
  for R in 1 2; do for p in /tmp/t0.6.smtx /tmp/t0.7.smtx /tmp/t0.9.smtx; do
    if [ $R = 1 ]; then one $p auto; one $p mma:64:1:2:1:8; else one $p mma:64:1:2:1:8; one $p auto; fi
  done; done
} > $OUT0/d64.log 2>&1
echo "d64 $(( $(date +%s) - T0 )) s; failures: $(grep -c '^!!' $OUT0/d64.log)"
SH=$PWD/.dlmc/bin/spmm_harness
R5=$S/rn50/magnitude_pruning
for l in 0.7 0.95; do gunzip -c $R5/$l/*group2.smtx.gz > /tmp/r$l.smtx; done
gunzip -c $R5/0.8/*.smtx.gz > /tmp/r0.8.smtx
spmm() {  # spmm PATTERN N DTYPE VARIANT
  if [ "$4" != auto ]; then export JSDL_SPMM_VARIANT=$4; else unset JSDL_SPMM_VARIANT; fi
  echo "== $(basename $1) n=$2 $3 $4 round $R"
  timeout 60 $SH $1 $2 $3 5 || echo "!! exit $?"
}
{
  for R in 1 2; do for t in tf32 bfloat16; do
    for pn in "/tmp/r0.95.smtx 802816" "/tmp/r0.7.smtx 802816" "/tmp/r0.8.smtx 200704"; do
      if [ $R = 1 ]; then spmm $pn $t auto; spmm $pn $t no-wgmma
      else spmm $pn $t no-wgmma; spmm $pn $t auto; fi
    done
  done; done
} > $OUT0/spmm-wide.log 2>&1
unset JSDL_SPMM_VARIANT
echo "spmm $(( $(date +%s) - T0 )) s; failures: $(grep -c '^!!' $OUT0/spmm-wide.log)"
OUT=$OUT0/sddmm WHEEL=$W COMMIT=$C DLMC=$S STAGES="bench" \
  BENCH_ARGS="--ops sddmm --limit-per-level 1 --skip-contenders dense*,bcoo*,bcsr* --time-budget 170" \
  bash scripts/gpu_run.sh > $OUT0/sddmm.log 2>&1
echo "bench $(( $(date +%s) - T0 )) s"
cp $OUT0/sddmm/bench/summary.md $OUT0/sddmm-summary.md; cp $OUT0/sddmm/bench/results.csv $OUT0/sddmm-results.csv
cd $OUT0 && tar czf sddmm.tar.gz sddmm sddmm.log && rm -rf sddmm sddmm.log
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader > env.txt
ls -la
