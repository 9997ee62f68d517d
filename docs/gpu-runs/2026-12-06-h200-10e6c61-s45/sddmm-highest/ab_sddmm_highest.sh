# Session 45, call 2 (carry [".dlmc"]; .dlmc/old-src = `git archive 27b1177 cuda scripts`):
# SDDMM float32 at HIGHEST, the 8-warp 3xTF32 rule (docs/prepared/s44-sddmm-highest-8warps)
# against the heuristic before it, old and new harness in turn on the same GPU, d = 64 and 128,
# with each run's full line (error against float64) and exit status; then call.sh's sweep.
set -u
INC=$(python3 -c "import jax; print(jax.ffi.include_dir())")
T0=$(date +%s)
nvcc -std=c++17 -O3 -arch=sm_90a -DJSDL_SM90A -I$INC scripts/sddmm_harness.cu -o /tmp/sd > $OUT/build-sddmm.log 2>&1 &
nvcc -std=c++17 -O3 -arch=sm_90a -DJSDL_SM90A -I$INC .dlmc/old-src/scripts/sddmm_harness.cu -o /tmp/sd_old > $OUT/build-sddmm-old.log 2>&1 &
nvcc -std=c++17 -O3 -arch=sm_90a -DJSDL_SM90A -I$INC scripts/spmm_harness.cu -o /tmp/sp > $OUT/build-spmm.log 2>&1 &
wait; ls /tmp/sd /tmp/sd_old /tmp/sp > /dev/null || exit 1; echo "built $(( $(date +%s) - T0 )) s"
src() { gunzip -c .dlmc/$1/magnitude_pruning/$2.smtx.gz > /tmp/$3.smtx; }
src transformer 0.5/body_decoder_layer_0_encdec_attention_multihead_attention_k_fully_connected t512-50
src transformer 0.8/body_decoder_layer_0_encdec_attention_multihead_attention_k_fully_connected t512-80
src transformer 0.7/body_decoder_layer_0_encdec_attention_multihead_attention_k_fully_connected t512-70
{
for p in /tmp/t512-50.smtx /tmp/t512-70.smtx /tmp/t512-80.smtx 512,500,0.5 512,512,0.3 512,512,0.2 512,512,0.15 768,512,0.5; do
  for d in 64 128; do
    for r in 1 2; do
      for h in sd_old sd; do
        echo "== $p d=$d HIGHEST $h auto"; timeout 30 /tmp/$h $p $d float32 15 || echo "!! exit $?"
      done
      echo "== $p d=$d HIGHEST sd mma:64:1:2:2:8"
      JSDL_SDDMM_VARIANT=mma:64:1:2:2:8 timeout 30 /tmp/sd $p $d float32 15 || echo "!! exit $?"
    done
  done
done
} > $OUT/ab-highest.log 2>&1
echo "ab done $(( $(date +%s) - T0 )) s; failures: $(grep -c '^!! exit' $OUT/ab-highest.log)"
# call.sh's sweep (docs/prepared/s44-short-calls), on the new harness
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
} > $OUT/sweep.log 2>&1
grep -c "^!! exit" $OUT/sweep.log; nvidia-smi --query-gpu=name,driver_version --format=csv,noheader > $OUT/env.txt
echo "done $(( $(date +%s) - T0 )) s"
