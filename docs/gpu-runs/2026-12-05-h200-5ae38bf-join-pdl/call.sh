# Prepared in session 33 (its device time ran out before this call ran; ~2 min). Are the SpMM
# benchmark's 4-7% slower small calls at a05c5a4 (against f5161d1) the change or the run?
# Harness side by side, 9df4856 (.dlmc/old: git archive 9df4856 cuda scripts | tar -x -C
# .dlmc/old) against this commit, on those problems, each pair run twice in turn. Then: is the
# parts' join cost the programmatic launch (the tile's blocks resident beside the densify
# kernel)? This commit against it without the launch attribute (/tmp/nopdl) and with the densify
# kernel's blocks releasing the tile only as they exit (/tmp/late: no LaunchDependents), the tile
# forced in 1, 2, 4 and 8 parts. Run with carry [".dlmc"].
set -u
export OUT=${OUT:-$PWD/gpu-logs}
rm -rf /tmp/nopdl && mkdir -p /tmp/nopdl && cp -r cuda scripts /tmp/nopdl/
sed -i 's/programmaticStreamSerializationAllowed = 1;/programmaticStreamSerializationAllowed = 0;/' /tmp/nopdl/cuda/common/launch.h
grep -c "Allowed = 0" /tmp/nopdl/cuda/common/launch.h  # 1 expected
rm -rf /tmp/late && mkdir -p /tmp/late && cp -r cuda scripts /tmp/late/
sed -i '/^  LaunchDependents();$/d' /tmp/late/cuda/spmm/spmm_densify_kernel.cuh
grep -c "LaunchDependents();" /tmp/late/cuda/spmm/spmm_densify_kernel.cuh  # 0 expected
INC=$(python3 -c "import jax; print(jax.ffi.include_dir())")
nvcc -std=c++17 -O3 -arch=sm_90a -DJSDL_SM90A -I$INC scripts/spmm_harness.cu -o /tmp/sh_new > $OUT/build-new.log 2>&1 &
nvcc -std=c++17 -O3 -arch=sm_90a -DJSDL_SM90A -I$INC .dlmc/old/scripts/spmm_harness.cu -o /tmp/sh_old > $OUT/build-old.log 2>&1 &
nvcc -std=c++17 -O3 -arch=sm_90a -DJSDL_SM90A -I$INC /tmp/nopdl/scripts/spmm_harness.cu -o /tmp/sh_nopdl > $OUT/build-nopdl.log 2>&1 &
nvcc -std=c++17 -O3 -arch=sm_90a -DJSDL_SM90A -I$INC /tmp/late/scripts/spmm_harness.cu -o /tmp/sh_late > $OUT/build-late.log 2>&1 &
wait
M=.dlmc/transformer/magnitude_pruning; RN=.dlmc/rn50/magnitude_pruning
{
  for spec in "$M/0.95/body_decoder_layer_0_ffn_conv1_fully_connected 256 float32" \
      "$M/0.95/body_decoder_layer_0_ffn_conv1_fully_connected 256 tf32" \
      "$M/0.95/body_decoder_layer_0_ffn_conv1_fully_connected 256 bfloat16" \
      "$M/0.7/body_decoder_layer_0_ffn_conv1_fully_connected 256 float32" \
      "$M/0.5/body_decoder_layer_0_encdec_attention_multihead_attention_k_fully_connected 256 float32" \
      "$M/0.5/body_decoder_layer_0_encdec_attention_multihead_attention_k_fully_connected 256 bfloat16" \
      "$M/0.5/body_decoder_layer_0_encdec_attention_multihead_attention_k_fully_connected 2048 tf32" \
      "$RN/0.8/bottleneck_1_block_group2_1_1 784 bfloat16"; do
    set -- $spec; s=/tmp/$(echo $1 | cut -d/ -f2,4,5 | tr / -).smtx; gunzip -c $1.smtx.gz > $s
    for r in 1 2; do for h in old new; do
      echo "== $(basename $s .smtx) n=$2 $3 $h$r"; timeout 10 /tmp/sh_$h $s $2 $3 9
    done; done
  done
} > $OUT/harness.log 2>&1
awk '/^==/ {key = $2 " " $3 " " $4; label = $5; if (!(key in seen)) {seen[key] = 1; keys[++c] = key}}
     /us=/ {for (i = 1; i <= NF; ++i) if ($i ~ /^us=/) us[key, label] = substr($i, 4)}
     END {for (j = 1; j <= c; ++j) {k = keys[j]; printf "%-60s old %7.2f %7.2f new %7.2f %7.2f (%.3fx)\n", substr(k, 1, 60),
          us[k, "old1"], us[k, "old2"], us[k, "new1"], us[k, "new2"], (us[k, "old1"] + us[k, "old2"]) / (us[k, "new1"] + us[k, "new2"])}}' \
  $OUT/harness.log | tee $OUT/pairs.txt
{
  for spec in "$M/0.6/body_decoder_layer_0_ffn_conv2_fully_connected float32 1 4 8" \
      "$M/0.6/body_decoder_layer_0_ffn_conv2_fully_connected bfloat16 1 4 8" \
      "$M/0.7/body_decoder_layer_0_ffn_conv1_fully_connected float32 1 2" \
      "$M/0.5/body_decoder_layer_0_encdec_attention_multihead_attention_k_fully_connected tf32 1 4 8"; do
    set -- $spec; f=$1; dt=$2; shift 2; s=/tmp/$(echo $f | cut -d/ -f2,4,5 | tr / -).smtx; gunzip -c $f.smtx.gz > $s
    for p in "$@"; do for h in new nopdl late; do
      echo "== $(basename $s .smtx) n=256 $dt parts$p $h"; JSDL_SPMM_VARIANT=wgmma:$p timeout 10 /tmp/sh_$h $s 256 $dt 9
    done; done
  done
} > $OUT/pdl.log 2>&1
awk '/^==/ {key = $2 " " $3 " " $4 " " $5; label = $6; if (!(key in seen)) {seen[key] = 1; keys[++c] = key}}
     /us=/ {for (i = 1; i <= NF; ++i) if ($i ~ /^us=/) us[key, label] = substr($i, 4)}
     END {for (j = 1; j <= c; ++j) {k = keys[j]; printf "%-72s with %7.2f without %7.2f late %7.2f\n", k, us[k, "new"], us[k, "nopdl"], us[k, "late"]}}' \
  $OUT/pdl.log | tee $OUT/pdl.txt
{ echo "commit: $(cat .dlmc/commit)"; date -u; nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
  python3 -c "import jax; print('jax', jax.__version__)"; nvcc --version | tail -n 1; } > $OUT/env.txt 2>&1
