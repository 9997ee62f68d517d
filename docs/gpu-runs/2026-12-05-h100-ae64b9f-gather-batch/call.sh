# Session 43 (run at ae64b9f): the SpMM gather and panel kernels with their dense-row loads batched
# (gather-batch.patch, all of AccumulateRow) against the checkout. One device call (about 2 min), carry [".dlmc"]:
# - build the standalone harness of this checkout (old) and of a copy with the patch applied (new);
# - old and new in turn on the small calls where SpMM loses to cuSPARSE and on large gather calls,
#   by the heuristic's choice and by forced CUDA-core variants, float32 (HIGHEST) and bfloat16;
#   every run checks its output against a float64 host reference (rel_err in harness.log).
# Set-up here: mkdir -p .dlmc && cp -r ../shared/dlmc/* .dlmc/ && git rev-parse --short HEAD > .dlmc/commit
set -u
export OUT=${OUT:-$PWD/gpu-logs}
R=$PWD
T0=$(date +%s)
P=docs/gpu-runs/2026-12-05-h100-ae64b9f-gather-batch
INC=$(python3 -c "import jax; print(jax.ffi.include_dir())")
rm -rf /tmp/new && mkdir -p /tmp/new && cp -r cuda scripts /tmp/new/ && patch -s -p1 -d /tmp/new < $P/gather-batch.patch
nvcc -std=c++17 -O3 -arch=sm_90a -DJSDL_SM90A -I$INC scripts/spmm_harness.cu -o /tmp/sh_old > $OUT/build-old.log 2>&1 &
nvcc -std=c++17 -O3 -arch=sm_90a -DJSDL_SM90A -I$INC /tmp/new/scripts/spmm_harness.cu -o /tmp/sh_new > $OUT/build-new.log 2>&1 &
wait; ls /tmp/sh_old /tmp/sh_new || exit 1; echo "built $(( $(date +%s) - T0 )) s"
unset JSDL_SPMM_VARIANT
# pattern (under .dlmc/<suite>/magnitude_pruning), Ns, then forced variants for small N
while read -r f ns; do
  name=$(echo $f | tr / -); gunzip -c .dlmc/${f%%/*}/magnitude_pruning/${f#*/}.smtx.gz > /tmp/$name.smtx
  for n in $ns; do
    variants="auto"; [ $n -le 3136 ] && variants="auto gather:128:1 gather:64:2:0:32 gather:32:8 panel:32:2"
    for v in $variants; do for dt in float32 bfloat16; do for side in old new; do
      [ $(( $(date +%s) - T0 )) -gt ${TOTAL:-540} ] && break 5
      echo "== $name n=$n $dt $v $side"
      if [ $v = auto ]; then timeout 20 /tmp/sh_$side /tmp/$name.smtx $n $dt 7
      else JSDL_SPMM_VARIANT=$v timeout 20 /tmp/sh_$side /tmp/$name.smtx $n $dt 7; fi
      rc=$?; [ $rc -eq 0 ] || echo "!! exit $rc (3: error over tolerance)"
    done; done; done
  done
done > $OUT/harness.log 2>&1 <<'LIST'
transformer/0.98/body_decoder_layer_0_encdec_attention_multihead_attention_k_fully_connected 256 2048
rn50/0.98/bottleneck_1_block_group2_1_1 784 200704
rn50/0.5/bottleneck_1_block_group_projection_block_group1 3136
rn50/0.9/bottleneck_2_block_group1_1_1 3136
transformer/0.8/body_decoder_layer_0_encdec_attention_multihead_attention_k_fully_connected 256
transformer/0.9/body_decoder_layer_0_ffn_conv2_fully_connected 256
rn50/0.95/bottleneck_1_block_group_projection_block_group2 3136
rn50/0.7/bottleneck_1_block_group_projection_block_group2 3136
rn50/0.98/bottleneck_1_block_group1_1_1 802816
LIST
awk '/^==/ {key = $2 " " $3 " " $4 " " $5; side = $6; if (!(key in seen)) {seen[key] = 1; keys[++c] = key}}
     /us=/ {for (i = 1; i <= NF; ++i) {if ($i ~ /^us=/) us[key, side] = substr($i, 4);
                                      if ($i ~ /^rel_err=/) err[key, side] = substr($i, 9)}}
     END {for (j = 1; j <= c; ++j) {k = keys[j]; printf "%-70s old %8.2f new %8.2f (%.3fx) err %s %s\n", k,
          us[k, "old"], us[k, "new"], (us[k, "new"] > 0 ? us[k, "old"] / us[k, "new"] : 0),
          err[k, "old"], err[k, "new"]}}' $OUT/harness.log | tee $OUT/pairs.txt
echo "failed runs: $(grep -c '^!! exit' $OUT/harness.log)"
{ echo "commit: $(cat .dlmc/commit)"; date -u
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
  nvcc --version | tail -n 2; } > "$OUT/env.txt" 2>&1
echo "done $(( $(date +%s) - T0 )) s"
