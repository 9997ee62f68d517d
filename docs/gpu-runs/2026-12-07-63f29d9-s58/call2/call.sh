# Session 58, call 2 (carry [".dlmc/wheel", ".dlmc/bin/spmm_harness", ".dlmc/slim"]; the wheel
# and harness from scripts/build_device_wheel.sh at C, a clean tree; .dlmc/slim from
# scripts/slim_dlmc.py .dlmc .dlmc/slim --limit-per-level 1):
# 1. The SpMM benchmark on ResNet-50's 70% and 95% layers (N = batch 1 and 256), jsdl against
#    XLA's dense dot: the run of record for 3f1fa41's TF32 rule (rows of <= 16 entries to the
#    CUDA cores); cut to these two layers when failed starts left 587 s of device time.
# 2. Harness sweep on the one problem where float32 at HIGHEST loses to dense fp32 from 70% on
#    (ResNet-50's 128 x 256 at 70%, N = 3136: 11.9 against 9.9 us): the heuristic's wide stream
#    kernel (64 rows a block, 98 blocks) against fewer rows a block, rows-stream, gather and the
#    3xTF32 wgmma tile in 1, 2, 4 parts over k; TF32 likewise. Two rounds, in turn.
set -u
C=${C:?set C to the commit of the wheel}
S=$PWD/.dlmc/slim
SH=$PWD/.dlmc/bin/spmm_harness
W=$(ls $PWD/.dlmc/wheel/*.whl)
T0=$(date +%s)
OUT0=$OUT
D=/tmp/r50; mkdir -p $D/rn50/magnitude_pruning; cp $S/rn50_batchsizes.txt $D/
cp -r $S/rn50/magnitude_pruning/0.7 $S/rn50/magnitude_pruning/0.95 $D/rn50/magnitude_pruning/
OUT=$OUT0/spmm WHEEL=$W COMMIT=$C DLMC=$D STAGES="build bench" \
  BENCH_ARGS="--ops spmm --dtypes float32 --contenders jsdl*,dense_f32* --time-budget 120" \
  bash scripts/gpu_run.sh > $OUT0/spmm.log 2>&1
echo "bench $(( $(date +%s) - T0 )) s"
cp $OUT0/spmm/bench/summary.md $OUT0/spmm-summary.md; cp $OUT0/spmm/bench/results.csv $OUT0/spmm-results.csv
(cd $OUT0 && tar czf spmm.tar.gz spmm spmm.log && rm -rf spmm spmm.log)
gunzip -c $S/rn50/magnitude_pruning/0.7/*.smtx.gz > /tmp/r0.7.smtx
one() {  # one DTYPE VARIANT
  if [ "$2" != auto ]; then export JSDL_SPMM_VARIANT=$2; else unset JSDL_SPMM_VARIANT; fi
  echo "== r0.7.smtx n=3136 $1 $2 round $R"
  timeout 60 $SH /tmp/r0.7.smtx 3136 $1 15 || echo "!! exit $?"
}
F32="auto wide-stream:32 wide-stream:16 stream:32 rows-stream gather wgmma wgmma:2 wgmma:4"
TF32="auto no-wgmma wgmma:2 wgmma:4"
{
  for R in 1 2; do
    for v in $F32; do one float32 $v; done
    for v in $TF32; do one tf32 $v; done
    F32=$(echo $F32 | tr ' ' '\n' | tac | tr '\n' ' '); TF32=$(echo $TF32 | tr ' ' '\n' | tac | tr '\n' ' ')
  done
} > $OUT0/sweep.log 2>&1
echo "sweep $(( $(date +%s) - T0 )) s; failures: $(grep -c '^!!' $OUT0/sweep.log)"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader > $OUT0/env.txt
ls -la $OUT0
