# Session 32, call 4: the wide stream kernel prefetching the next column tile's panel (one wave of
# blocks taking the tiles in turn, two panel buffers; the warps' row metadata kept over tiles),
# side by side with main (.dlmc/old) on DLMC ResNet-50 layers with many column tiles; sanitizers
# on a forced multi-tile wide stream; the SpMM GPU tests. Run with carry [".dlmc"].
set -u
export OUT=${OUT:-$PWD/gpu-logs}
R=$PWD
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $OUT/gpu.txt
T0=$(date +%s)
INC=$(python3 -c "import jax; print(jax.ffi.include_dir())")
nvcc -std=c++17 -O3 -arch=sm_90a -DJSDL_SM90A -I$INC scripts/spmm_harness.cu -o /tmp/sh_new > $OUT/build-new.log 2>&1 &
nvcc -std=c++17 -O3 -arch=sm_90a -DJSDL_SM90A -I$INC .dlmc/old/scripts/spmm_harness.cu -o /tmp/sh_old > $OUT/build-old.log 2>&1 &
STAGES=build bash scripts/gpu_run.sh > $OUT/build-pkg.log 2>&1 &
wait; ls /tmp/sh_new /tmp/sh_old; tail -n 1 $OUT/build-pkg.log; echo "built $(( $(date +%s) - T0 )) s"
RN=.dlmc/rn50/magnitude_pruning
pair() {  # file n dtype [variant]
  for v in old new; do echo "== $(basename $1 .smtx) n=$2 $3 ${4:-auto} $v"
    JSDL_SPMM_VARIANT=${4:-} timeout 20 /tmp/sh_$v $1 $2 $3 7; done
}
{
  gunzip -c $RN/0.95/bottleneck_1_block_group_projection_block_group2.smtx.gz > /tmp/p95.smtx
  gunzip -c $RN/0.98/bottleneck_1_block_group2_1_1.smtx.gz > /tmp/g98.smtx
  gunzip -c $RN/0.5/bottleneck_1_block_group_projection_block_group1.smtx.gz > /tmp/p50.smtx
  gunzip -c .dlmc/transformer/magnitude_pruning/0.98/body_decoder_layer_0_encdec_attention_multihead_attention_k_fully_connected.smtx.gz > /tmp/t98.smtx
  for n in 802816 200704 25088; do for dt in float32 bfloat16; do pair /tmp/p95.smtx $n $dt; done; done
  pair /tmp/g98.smtx 200704 float32; pair /tmp/g98.smtx 200704 float32 wide-stream
  pair /tmp/p50.smtx 802816 float32; pair /tmp/p50.smtx 802816 float32 wide-stream
  pair /tmp/t98.smtx 8192 float32
} > $OUT/harness.log 2>&1
echo "harness $(( $(date +%s) - T0 )) s"
awk '/^==/ {key = $2 " " $3 " " $4 " " $5; v = $6} /us=/ {for (i = 1; i <= NF; ++i) if ($i ~ /^us=/) us[key, v] = substr($i, 4);
       if (v == "new") printf "%-52s old %9.2f new %9.2f  %.3fx\n", key, us[key, "old"], us[key, "new"], us[key, "old"] / us[key, "new"]}' \
  $OUT/harness.log | tee $OUT/pairs.txt
for dt in float32 bfloat16; do
  JSDL_SPMM_VARIANT=wide-stream compute-sanitizer --tool memcheck --error-exitcode 9 /tmp/sh_new 70,64,0.5 19192 $dt 1 2>&1 | tail -n 1
  JSDL_SPMM_VARIANT=wide-stream:9 compute-sanitizer --tool memcheck --error-exitcode 9 /tmp/sh_new 130,200,0.3 40000 $dt 1 2>&1 | tail -n 1
  JSDL_SPMM_VARIANT=wide-stream compute-sanitizer --tool racecheck --error-exitcode 9 /tmp/sh_new 70,64,0.5 19192 $dt 1 2>&1 | tail -n 1
  JSDL_SPMM_VARIANT=wide-stream compute-sanitizer --tool synccheck --error-exitcode 9 /tmp/sh_new 70,64,0.5 19192 $dt 1 2>&1 | tail -n 1
done > $OUT/sanitize.log 2>&1
echo "sanitize $(( $(date +%s) - T0 )) s"; cat $OUT/sanitize.log
export XLA_PYTHON_CLIENT_PREALLOCATE=false PYTHONUNBUFFERED=1
left=$(( ${TOTAL:-500} - ($(date +%s) - T0) - 10 ))
(cd /tmp && JAX_PLATFORMS=cuda timeout $left python3 -m pytest -q -n 15 $R/tests/test_spmm.py $R/tests/test_spmm_heuristic.py \
  $R/tests/test_gpu_variants.py -k "not sddmm and not softmax" -rs) > $OUT/pytest-spmm.log 2>&1
echo "tests rc=$? $(( $(date +%s) - T0 )) s"; tail -n 2 $OUT/pytest-spmm.log
{ echo "commit: $(cat .dlmc/commit)"; date -u
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
  python3 -c "import jax; print('jax', jax.__version__)"; nvcc --version | tail -n 2; } > "$OUT/env.txt" 2>&1
cd $OUT && tar -czf all.tgz --exclude=all.tgz *.log *.txt && rm -f build*.log
