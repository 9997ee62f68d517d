# Session 43 (run at 97897d6): the batched gather kernel as the heuristic then chose it (re-use under 0.5; new, this
# checkout) against d57c826 (old, sent as .dlmc/old-src: mkdir -p .dlmc/old-src && git archive d57c826 cuda scripts | tar -x -C .dlmc/old-src), by the standalone harness. carry [".dlmc"]
set -u
INC=$(python3 -c "import jax; print(jax.ffi.include_dir())")
T0=$(date +%s)
nvcc -std=c++17 -O3 -arch=sm_90a -DJSDL_SM90A -I$INC .dlmc/old-src/scripts/spmm_harness.cu -o /tmp/sh_old > $OUT/build-old.log 2>&1 &
nvcc -std=c++17 -O3 -arch=sm_90a -DJSDL_SM90A -I$INC scripts/spmm_harness.cu -o /tmp/sh_new > $OUT/build-new.log 2>&1 &
wait; ls /tmp/sh_old /tmp/sh_new > /dev/null || exit 1; echo "built $(( $(date +%s) - T0 )) s"
{
for f in rn50/0.98/bottleneck_1_block_group2_1_1:784 transformer/0.98/body_decoder_layer_0_encdec_attention_multihead_attention_k_fully_connected:256 \
         rn50/0.95/bottleneck_1_block_group2_1_1:784 transformer/0.95/body_decoder_layer_0_encdec_attention_multihead_attention_k_fully_connected:256 \
         transformer/0.9/body_decoder_layer_0_encdec_attention_multihead_attention_k_fully_connected:256; do
  p=${f%%:*}; n=${f#*:}; name=$(echo $p | tr / -)
  gunzip -c .dlmc/${p%%/*}/magnitude_pruning/${p#*/}.smtx.gz > /tmp/$name.smtx
  for dt in float32 bfloat16; do for side in old new old new; do
    echo "== $name n=$n $dt auto $side"; timeout 20 /tmp/sh_$side /tmp/$name.smtx $n $dt 9 || echo "!! exit $?"
  done; done
done
# the batched kernels forced on odd shapes, empty rows, nnz small: every output against float64
for spec in "1000,300,0.03 104" "37,64,0.1 16" "257,129,0.01 1024" "64,1000,0.05 200"; do
  for dt in float32 bfloat16; do for v in gather-batched gather-batched:32:3:4; do
    echo "== $spec $dt $v"; JSDL_SPMM_VARIANT=$v timeout 20 /tmp/sh_new $spec $dt 3 || echo "!! exit $?"
  done; done
done
} > $OUT/harness.log 2>&1
grep -c "^!! exit" $OUT/harness.log; nvidia-smi --query-gpu=name,driver_version --format=csv,noheader > $OUT/env.txt
echo "done $(( $(date +%s) - T0 )) s"
