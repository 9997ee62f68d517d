# Session 44 (carry [".dlmc"]): SDDMM float32 at HIGHEST on the benchmark's short d = 64 calls
# (and d = 256 on the 3xTF32 tiles), the heuristic's choice beside every kernel that could take
# them; and SpMM's small 98% calls beside the empty kernel in the same loop. Standalone
# harnesses, CUDA events.
set -u
INC=$(python3 -c "import jax; print(jax.ffi.include_dir())")
T0=$(date +%s)
nvcc -std=c++17 -O3 -arch=sm_90a -DJSDL_SM90A -I$INC scripts/sddmm_harness.cu -o /tmp/sd > $OUT/build-sddmm.log 2>&1 &
nvcc -std=c++17 -O3 -arch=sm_90a -DJSDL_SM90A -I$INC scripts/spmm_harness.cu -o /tmp/sp > $OUT/build-spmm.log 2>&1 &
wait; ls /tmp/sd /tmp/sp > /dev/null || exit 1; echo "built $(( $(date +%s) - T0 )) s"
src() { gunzip -c .dlmc/$1/magnitude_pruning/$2.smtx.gz > /tmp/$3.smtx; }
src transformer 0.5/body_decoder_layer_0_encdec_attention_multihead_attention_k_fully_connected t512-50
src transformer 0.8/body_decoder_layer_0_encdec_attention_multihead_attention_k_fully_connected t512-80
src transformer 0.98/body_decoder_layer_0_encdec_attention_multihead_attention_k_fully_connected t512-98
src transformer 0.9/body_decoder_layer_0_ffn_conv2_fully_connected t2048-90
src transformer 0.95/body_decoder_layer_0_ffn_conv1_fully_connected t2048x512-95
src rn50 0.98/bottleneck_1_block_group2_1_1 rn128x512-98
src transformer 0.6/body_decoder_layer_0_ffn_conv2_fully_connected t2048-60
src transformer 0.7/body_decoder_layer_0_ffn_conv1_fully_connected t2048x512-70
{
for p in t512-50 t512-80 t2048-90 t2048x512-95; do
  for v in auto tile:64 tile:64:1:2 tile:32 mma:64 mma:64:1:2:2 mma:64:1:2:1:8 mma:64:1:2:2:8 wgmma wgmma:1:2 flat:1:4 flat:1:8; do
    echo "== sddmm $p d=64 float32 $v"
    JSDL_SDDMM_VARIANT=$([ $v = auto ] || echo $v) timeout 30 /tmp/sd /tmp/$p.smtx 64 float32 9 || echo "!! exit $?"
  done
done
for p in t512-98 rn128x512-98; do
  for v in auto flat:1:4 flat:1:8 flat:4:8 flat:1:1 row tile:32; do
    echo "== sddmm $p d=64 float32 $v"
    JSDL_SDDMM_VARIANT=$([ $v = auto ] || echo $v) timeout 30 /tmp/sd /tmp/$p.smtx 64 float32 9 || echo "!! exit $?"
  done
done
for p in t2048-60 t2048-90 t2048x512-70 t2048x512-95 t512-50; do
  for v in auto mma:64 mma:64:1:2:1:8 wgmma mma:64:1:2:2; do
    echo "== sddmm $p d=256 float32 $v"
    JSDL_SDDMM_VARIANT=$([ $v = auto ] || echo $v) timeout 30 /tmp/sd /tmp/$p.smtx 256 float32 9 || echo "!! exit $?"
  done
done
for spec in "/tmp/rn128x512-98.smtx 784" "/tmp/t512-98.smtx 256" "64,64,0.02 16"; do
  for dt in float32 bfloat16; do
    echo "== spmm $spec $dt auto"; timeout 30 /tmp/sp $spec $dt 9 || echo "!! exit $?"
  done
done
} > $OUT/harness.log 2>&1
grep -c "^!! exit" $OUT/harness.log; nvidia-smi --query-gpu=name,driver_version --format=csv,noheader > $OUT/env.txt
echo "done $(( $(date +%s) - T0 )) s"
