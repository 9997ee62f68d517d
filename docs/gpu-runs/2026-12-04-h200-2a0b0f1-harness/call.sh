# Session 30, call 3: the SpMM wgmma tile as a persistent grid launched as the densify kernel's
# programmatic dependent (working tree) against HEAD (.dlmc/old: one block a tile, plain launch).
# Harness side by side in TF32, 3xTF32 (float32) and bfloat16 on the 6 transformer matrices x
# N = 256/2048/8192 and two ResNet-50 layers; memcheck and racecheck of the new one.
set -u
export OUT=${OUT:-$PWD/gpu-logs}
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $OUT/gpu.txt
T0=$(date +%s)
INC=$(python3 -c "import jax; print(jax.ffi.include_dir())")
nvcc -std=c++17 -O3 -arch=sm_90a -DJSDL_SM90A -I$INC scripts/spmm_harness.cu -o /tmp/sh_new > $OUT/build-new.log 2>&1 &
nvcc -std=c++17 -O3 -arch=sm_90a -DJSDL_SM90A -I$INC .dlmc/old/scripts/spmm_harness.cu -o /tmp/sh_old > $OUT/build-old.log 2>&1 &
wait; ls /tmp/sh_new /tmp/sh_old; echo "built $(( $(date +%s) - T0 )) s"
export JSDL_SPMM_VARIANT=wgmma
for dt in tf32 float32 bfloat16; do
  for s in "130,200,0.3 40" "512,512,0.3 8192" "70,64,0.5 136"; do
    compute-sanitizer --tool memcheck --error-exitcode 9 /tmp/sh_new $s $dt 1 2>&1 | tail -n 2
  done
  compute-sanitizer --tool racecheck --error-exitcode 9 /tmp/sh_new 200,300,0.4 8192 $dt 1 2>&1 | tail -n 2
done > $OUT/sanitize.log 2>&1
echo "sanitize $(( $(date +%s) - T0 )) s"; grep -c "0 errors\|0 hazards" $OUT/sanitize.log; grep -v "0 errors\|0 hazards" $OUT/sanitize.log | grep -v "^m=" | head
D=.dlmc/transformer/magnitude_pruning
for f in transformer/magnitude_pruning/0.5/body_decoder_layer_0_encdec_attention_multihead_attention_k_fully_connected \
    transformer/magnitude_pruning/0.6/body_decoder_layer_0_ffn_conv2_fully_connected \
    transformer/magnitude_pruning/0.7/body_decoder_layer_0_ffn_conv1_fully_connected \
    transformer/magnitude_pruning/0.8/body_decoder_layer_0_encdec_attention_multihead_attention_k_fully_connected \
    transformer/magnitude_pruning/0.9/body_decoder_layer_0_ffn_conv2_fully_connected \
    transformer/magnitude_pruning/0.95/body_decoder_layer_0_ffn_conv1_fully_connected \
    rn50/magnitude_pruning/0.7/bottleneck_2_block_group2_1_1 rn50/magnitude_pruning/0.8/bottleneck_1_block_group1_1_1; do
  name=$(echo $f | cut -d/ -f1,3,4 | tr / -); gunzip -c .dlmc/$f.smtx.gz > /tmp/$name.smtx
  case $f in rn50*0.7*) ns="25088";; rn50*) ns="3136 200704";; *) ns="256 2048 8192";; esac
  for n in $ns; do for dt in tf32 float32 bfloat16; do for v in old new; do
    echo "== $name n=$n $dt $v"; timeout 20 /tmp/sh_$v /tmp/$name.smtx $n $dt 11
  done; done; done
done > $OUT/harness.log 2>&1
echo "harness $(( $(date +%s) - T0 )) s"
grep -E "^==|us=" $OUT/harness.log | paste - - | awk '{print $2,$3,$4,$5,$(NF-2),$NF}'
{ echo "commit: $(cat .dlmc/commit) + working tree (persistent, PDL)"; date -u
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
  python3 -c "import jax; print('jax', jax.__version__)"; nvcc --version | tail -n 2; } > "$OUT/env.txt" 2>&1
cd $OUT && tar -czf all.tgz --exclude=all.tgz *.log *.txt && rm -f *.log
