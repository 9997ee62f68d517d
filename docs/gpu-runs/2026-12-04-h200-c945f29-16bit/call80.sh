# Session 30, call 1 (prepared in session 29): the 16-bit SpMM wgmma tile of branch
# wip/spmm-wgmma-16bit. Build (package; harness); wgmma GPU tests; harness bfloat16 wgmma against
# the CUDA-core choice (no-wgmma) on the time model's problems; memcheck and racecheck.
set -u
export OUT=${OUT:-$PWD/gpu-logs}
R=$PWD
export COMMIT=$(cat .dlmc/commit)
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $OUT/gpu.txt
T0=$(date +%s)
INC=$(python3 -c "import jax; print(jax.ffi.include_dir())")
nvcc -std=c++17 -O3 -arch=sm_90a -DJSDL_SM90A -I$INC scripts/spmm_harness.cu -o /tmp/sh > $OUT/build-harness.log 2>&1 &
(STAGES=build bash scripts/gpu_run.sh > $OUT/build-pkg.log 2>&1) &
wait
tail -n 1 $OUT/build-pkg.log; ls /tmp/sh; echo "built $(( $(date +%s) - T0 )) s"
for s in "130,200,0.3 40" "70,64,0.5 136" "512,512,0.1 264"; do
  JSDL_SPMM_VARIANT=wgmma compute-sanitizer --tool memcheck --error-exitcode 9 /tmp/sh $s bfloat16 1 2>&1 | tail -n 2
done > $OUT/sanitize.log 2>&1
JSDL_SPMM_VARIANT=wgmma compute-sanitizer --tool racecheck --error-exitcode 9 /tmp/sh 200,300,0.4 136 bfloat16 1 2>&1 | tail -n 2 >> $OUT/sanitize.log
cat $OUT/sanitize.log
export XLA_PYTHON_CLIENT_PREALLOCATE=false PYTHONUNBUFFERED=1
(cd /tmp && JAX_PLATFORMS=cuda timeout 150 python3 -m pytest -q -n 14 $R/tests/test_gpu_variants.py $R/tests/test_lowering.py \
  $R/tests/test_spmm_heuristic.py -k "(wgmma and not sddmm) or workspace or empty_pattern or heuristic" -rs) > $OUT/pytest-wgmma.log 2>&1
echo "tests rc=$? $(( $(date +%s) - T0 )) s"; tail -n 3 $OUT/pytest-wgmma.log
D=.dlmc/transformer/magnitude_pruning
for f in 0.5/body_decoder_layer_0_encdec_attention_multihead_attention_k_fully_connected \
    0.6/body_decoder_layer_0_ffn_conv2_fully_connected 0.7/body_decoder_layer_0_ffn_conv1_fully_connected \
    0.8/body_decoder_layer_0_encdec_attention_multihead_attention_k_fully_connected \
    0.9/body_decoder_layer_0_ffn_conv2_fully_connected 0.95/body_decoder_layer_0_ffn_conv1_fully_connected; do
  name=$(echo $f | tr / -); gunzip -c $D/$f.smtx.gz > /tmp/$name.smtx
  for n in 256 2048 8192; do for v in no-wgmma wgmma; do
    echo "== $name n=$n bfloat16 $v"; JSDL_SPMM_VARIANT=$v timeout 20 /tmp/sh /tmp/$name.smtx $n bfloat16 11
  done; done
done > $OUT/harness.log 2>&1
echo "harness $(( $(date +%s) - T0 )) s"
grep -E "^==|us=" $OUT/harness.log | paste - - | awk '{print $2,$3,$5,$(NF-2),$NF}'
{ echo "commit: $COMMIT"; date -u
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
  python3 -c "import jax; print('jax', jax.__version__)"; nvcc --version | tail -n 2; } > "$OUT/env.txt" 2>&1
cd $OUT && tar -czf all.tgz --exclude=all.tgz *.log *.txt && rm -f *.log
