# Session 43 (run at ae64b9f, carry [".dlmc"]): a small SpMM call against a trivial one, and ncu launch statistics.
set -u
INC=$(python3 -c "import jax; print(jax.ffi.include_dir())")
nvcc -std=c++17 -O3 -arch=sm_90a -DJSDL_SM90A -I$INC scripts/spmm_harness.cu -o /tmp/sh > $OUT/build.log 2>&1 || exit 1
gunzip -c .dlmc/rn50/magnitude_pruning/0.98/bottleneck_1_block_group2_1_1.smtx.gz > /tmp/rn.smtx
gunzip -c .dlmc/transformer/magnitude_pruning/0.98/body_decoder_layer_0_encdec_attention_multihead_attention_k_fully_connected.smtx.gz > /tmp/tf.smtx
run() { echo "=== $*"; "$@" 2>&1 | grep -v "^==PROF==" | grep -E "us=|Kernel|void|jsdl|gpu__time|Duration|Registers|Grid Size|Block Size|Threads|Waves|Dynamic Shared|Static Shared" ; }
{
run /tmp/sh 64,64,0.02 16 float32 7
run /tmp/sh /tmp/rn.smtx 784 float32 7
for spec in "/tmp/rn.smtx 784 float32" "/tmp/rn.smtx 784 bfloat16" "/tmp/tf.smtx 256 float32" "/tmp/sh 64,64,0.02 16 float32"; do
  set -- $spec
  [ "$1" = /tmp/sh ] && shift
  run ncu --profile-from-start off --section LaunchStats --metrics gpu__time_duration.sum /tmp/sh "$@" 3
  run env JSDL_SPMM_VARIANT=gather:128:1 ncu --profile-from-start off --section LaunchStats --metrics gpu__time_duration.sum /tmp/sh "$@" 3
done
} > $OUT/ncu.txt 2>&1
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader >> $OUT/ncu.txt
