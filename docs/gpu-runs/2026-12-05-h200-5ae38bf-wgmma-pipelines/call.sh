# Prepared in session 34 (no device machine was lent that session). Applies pipeline.patch to this
# copy of the tree and measures it against the tree as it was (/tmp/old). Three calls, each with
# carry [".dlmc"] (set-up: README.md):
# PART=1 (about 5 min): harnesses old / new side by side (SDDMM at the heuristic's choice and with
#   the wgmma tile forced; SpMM with the wgmma tile forced), pairs.txt;
# PART=2 (about 4 min): the patched package built, its wgmma GPU tests, pytest-wgmma.log;
# PART=3 (about 4 min): compute-sanitizer memcheck and racecheck on the new harnesses.
set -u
export OUT=${OUT:-$PWD/gpu-logs}
R=$PWD P=docs/gpu-runs/2026-12-05-h200-5ae38bf-wgmma-pipelines T0=$(date +%s)
rm -rf /tmp/old && mkdir -p /tmp/old && cp -r cuda scripts /tmp/old/
git apply $P/pipeline.patch 2>/dev/null || patch -p1 -N < $P/pipeline.patch > $OUT/patch.log 2>&1
echo "patch applied: $(grep -c SpmmWgmmaPipeline cuda/spmm/spmm_wgmma_kernel.cuh) $(grep -c SplitStep cuda/sddmm/sddmm_wgmma_kernel.cuh) (both > 0)"
INC=$(python3 -c "import jax; print(jax.ffi.include_dir())")
export XLA_PYTHON_CLIENT_PREALLOCATE=false PYTHONUNBUFFERED=1
build() {  # build OP old|new
  local src=scripts; [ $2 = old ] && src=/tmp/old/scripts
  nvcc -std=c++17 -O3 -arch=sm_90a -DJSDL_SM90A -Xptxas -v -I$INC $src/$1_harness.cu -o /tmp/$1_$2 \
    > $OUT/build-$1-$2.log 2>&1
}
run() {  # run old|new OP VARIANT FILE SIZE DTYPE (VARIANT "": the heuristic's)
  echo "== $(basename $4 .smtx) $2 size=$5 $6 ${3:-auto} $1"
  local e=""; [ -n "$3" ] && e="JSDL_$(echo $2 | tr a-z A-Z)_VARIANT=$3"
  env $e timeout 20 /tmp/$2_$1 $4 $5 $6 7
}
pair() { run old "$@"; run new "$@"; }
M=.dlmc/transformer/magnitude_pruning
unz() { local s=/tmp/$(echo $1 | cut -d/ -f4,5 | tr / -).smtx; [ -f $s ] || gunzip -c $1.smtx.gz > $s; echo $s; }
env_txt() { { echo "commit: $(cat .dlmc/commit) + $P/pipeline.patch"; date -u
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
  python3 -c "import jax; print('jax', jax.__version__)"; nvcc --version | tail -n 1; } > $OUT/env.txt 2>&1; }
case ${PART:-1} in
1)
  for op in sddmm spmm; do for v in old new; do build $op $v & done; done; wait
  echo "built $(( $(date +%s) - T0 )) s; ptxas remarks in new: $(cat $OUT/build-*-new.log | grep -c 'Performance Loss\|injected') (0)"
  {
    for f in 0.7/body_decoder_layer_0_ffn_conv1_fully_connected 0.6/body_decoder_layer_0_ffn_conv2_fully_connected; do
      s=$(unz $M/$f)
      for d in 256 512 2048; do for dt in float32 tf32 bfloat16; do pair sddmm "" $s $d $dt; done; done
      pair sddmm wgmma $s 256 float32
    done
    for f in 0.9/body_decoder_layer_0_ffn_conv2_fully_connected 0.95/body_decoder_layer_0_ffn_conv1_fully_connected \
        0.5/body_decoder_layer_0_encdec_attention_multihead_attention_k_fully_connected \
        0.8/body_decoder_layer_0_encdec_attention_multihead_attention_k_fully_connected; do
      s=$(unz $M/$f)
      for dt in float32 tf32 bfloat16; do pair sddmm "" $s 2048 $dt; done
    done
    pair sddmm wgmma:2 $s 2048 float32
    for f in 0.8/body_decoder_layer_0_encdec_attention_multihead_attention_k_fully_connected \
        0.6/body_decoder_layer_0_ffn_conv2_fully_connected 0.9/body_decoder_layer_0_ffn_conv2_fully_connected \
        0.7/body_decoder_layer_0_ffn_conv1_fully_connected; do
      s=$(unz $M/$f)
      for n in 256 2048; do for dt in float32 tf32 bfloat16; do pair spmm wgmma $s $n $dt; done; done
    done
    s=$(unz $M/0.6/body_decoder_layer_0_ffn_conv2_fully_connected)
    for dt in float32 tf32 bfloat16; do pair spmm wgmma:3 $s 256 $dt; done
  } > $OUT/harness.log 2>&1
  awk '/^==/ {key = $2 " " $3 " " $4 " " $5 " " $6; label = $7; if (!(key in seen)) {seen[key] = 1; keys[++c] = key}}
       /us=/ {for (i = 1; i <= NF; ++i) {if ($i ~ /^us=/) us[key, label] = substr($i, 4); if ($i ~ /^rel_err=/) e[key, label] = substr($i, 9)}}
       END {for (j = 1; j <= c; ++j) {k = keys[j]; printf "%-90s old %8.2f new %8.2f (%.3fx) err %s / %s\n", k,
            us[k, "old"], us[k, "new"], (us[k, "new"] > 0 ? us[k, "old"] / us[k, "new"] : 0), e[k, "old"], e[k, "new"]}}' \
    $OUT/harness.log | tee $OUT/pairs.txt
  echo "harness $(( $(date +%s) - T0 )) s";;
2)
  COMMIT="$(cat .dlmc/commit)+patch" STAGES=build bash scripts/gpu_run.sh > $OUT/build-pkg.log 2>&1; tail -n 1 $OUT/build-pkg.log
  (cd /tmp && JAX_PLATFORMS=cuda timeout 400 python3 -m pytest -q -n 15 $R/tests/test_gpu_variants.py \
    $R/tests/test_spmm_heuristic.py $R/tests/test_sddmm_heuristic.py -k "wgmma or pipeline or heuristic" -rs) \
    > $OUT/pytest-wgmma.log 2>&1
  echo "tests rc=$? $(( $(date +%s) - T0 )) s"; tail -n 3 $OUT/pytest-wgmma.log;;
3)
  build sddmm new & build spmm new & wait
  {
    for dt in float32 tf32 bfloat16; do
      for v in wgmma wgmma:2 wgmma:1:2; do for d in 1000 96; do
        echo "== memcheck sddmm $v $dt d=$d"
        JSDL_SDDMM_VARIANT=$v compute-sanitizer --tool memcheck --error-exitcode 9 /tmp/sddmm_new 130,200,0.3 $d $dt 1 2>&1 | tail -n 2
      done; done
      for v in wgmma wgmma:3; do
        echo "== memcheck spmm $v $dt"
        JSDL_SPMM_VARIANT=$v compute-sanitizer --tool memcheck --error-exitcode 9 /tmp/spmm_new 130,700,0.3 136 $dt 1 2>&1 | tail -n 2
      done
      echo "== racecheck spmm wgmma $dt"
      JSDL_SPMM_VARIANT=wgmma compute-sanitizer --tool racecheck --error-exitcode 9 /tmp/spmm_new 200,900,0.4 256 $dt 1 2>&1 | tail -n 2
      echo "== racecheck sddmm wgmma $dt"
      JSDL_SDDMM_VARIANT=wgmma compute-sanitizer --tool racecheck --error-exitcode 9 /tmp/sddmm_new 130,200,0.3 1000 $dt 1 2>&1 | tail -n 2
    done
  } > $OUT/sanitizer.log 2>&1
  echo "sanitizer $(( $(date +%s) - T0 )) s: $(grep -c 'ERROR SUMMARY: 0 errors\|RACECHECK SUMMARY: 0 hazards' $OUT/sanitizer.log) of 30 clean";;
esac
env_txt
cd $OUT && tar -czf all.tgz --exclude=all.tgz * && find . -maxdepth 1 -type f ! -name all.tgz ! -name pairs.txt \
  ! -name env.txt ! -name sanitizer.log ! -name pytest-wgmma.log -delete
