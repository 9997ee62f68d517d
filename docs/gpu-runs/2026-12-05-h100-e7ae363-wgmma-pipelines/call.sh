# Prepared in session 36, revised in session 39: the SpMM half of session 34's pipeline patch (its
# SDDMM half landed in 3c7ecd4), in pipeline.patch alone. Session 36 measured it 1.15-1.17x faster
# in 3xTF32 at N = 2048 but 2-6% slower in TF32 and bfloat16. Session 39's patch gives each type a
# choice (Sums::kOverlap): TF32 and 16-bit keep slices in flight across chunks; 3xTF32 goes a
# chunk at a time and now releases each stage as soon as its chunk is done. A third build, whole,
# sets kOverlap = false for every type (each chunk's stage released at once, as before the patch).
# Carry [".dlmc"] (set-up: README.md). Two parts:
# PART=1 (about 5 min): harnesses old / new / whole side by side (pairs.txt), memcheck and
#   racecheck of both patched builds (sanitizer.log), the time model fitted to new's runs.
# PART=2 (about 5 min): the patched package (PATCH_VARIANT=whole for the third), its SpMM wgmma
#   GPU tests.
set -u
export OUT=${OUT:-$PWD/gpu-logs}
R=$PWD P=docs/prepared/wgmma-pipelines T0=$(date +%s)
rm -rf /tmp/old && mkdir -p /tmp/old && cp -r cuda scripts /tmp/old/
git apply $P/pipeline.patch || exit 1
echo "patch applied: $(grep -c SpmmWgmmaPipeline cuda/spmm/spmm_wgmma_kernel.cuh) (> 0)"
INC=$(python3 -c "import jax; print(jax.ffi.include_dir())")
export XLA_PYTHON_CLIENT_PREALLOCATE=false PYTHONUNBUFFERED=1
# whole: the patch with kOverlap = false for every type.
whole() { sed -i 's/kOverlap = true;/kOverlap = false;/; s/kOverlap = !kSplit;/kOverlap = false;/' \
  $1/cuda/spmm/spmm_wgmma_kernel.cuh; echo "whole: $(grep -c 'kOverlap = false;' $1/cuda/spmm/spmm_wgmma_kernel.cuh) (2)"; }
rm -rf /tmp/whole && mkdir -p /tmp/whole && cp -r cuda scripts /tmp/whole/ && whole /tmp/whole
build() {  # build old|new|whole
  local src=scripts; [ $1 != new ] && src=/tmp/$1/scripts
  nvcc -std=c++17 -O3 -arch=sm_90a -DJSDL_SM90A -Xptxas -v -I$INC $src/spmm_harness.cu \
    -o /tmp/spmm_$1 > $OUT/build-$1.log 2>&1
}
M=.dlmc/transformer/magnitude_pruning
unz() { local s=/tmp/$(echo $1 | cut -d/ -f4,5 | tr / -).smtx; [ -f $s ] || gunzip -c $1.smtx.gz > $s; echo $s; }
case ${PART:-1} in
1)
  build old & build new & build whole & wait
  echo "built $(( $(date +%s) - T0 )) s; ptxas remarks: $(cat $OUT/build-new.log $OUT/build-whole.log | grep -c 'Performance Loss\|injected') (0)"
  export JSDL_SPMM_VARIANT=wgmma
  {
    for f in 0.8/body_decoder_layer_0_encdec_attention_multihead_attention_k_fully_connected \
        0.6/body_decoder_layer_0_ffn_conv2_fully_connected 0.9/body_decoder_layer_0_ffn_conv2_fully_connected \
        0.7/body_decoder_layer_0_ffn_conv1_fully_connected; do
      s=$(unz $M/$f)
      for n in 256 2048; do for dt in float32 tf32 bfloat16; do for v in old new whole; do
        echo "== $(basename $s .smtx) n=$n $dt $v"; timeout 20 /tmp/spmm_$v $s $n $dt 7
      done; done; done
    done
  } > $OUT/harness.log 2>&1
  awk '/^==/ {key = $2 " " $3 " " $4; label = $5; if (!(key in seen)) {seen[key] = 1; keys[++c] = key}}
       /us=/ {for (i = 1; i <= NF; ++i) if ($i ~ /^us=/) us[key, label] = substr($i, 4);
              for (i = 1; i <= NF; ++i) if ($i ~ /^rel_err=/) err[key, label] = substr($i, 9)}
       END {for (j = 1; j <= c; ++j) {k = keys[j]; o = us[k, "old"];
            printf "%-66s old %7.2f new %7.2f (%.3fx) whole %7.2f (%.3fx) err %s / %s / %s\n", k, o,
            us[k, "new"], (us[k, "new"] > 0 ? o / us[k, "new"] : 0), us[k, "whole"],
            (us[k, "whole"] > 0 ? o / us[k, "whole"] : 0), err[k, "old"], err[k, "new"], err[k, "whole"]}}' \
    $OUT/harness.log | tee $OUT/pairs.txt
  echo "harness $(( $(date +%s) - T0 )) s"
  {
    for b in new whole; do for dt in float32 tf32 bfloat16; do
      for v in wgmma wgmma:3; do
        echo "== memcheck spmm $b $v $dt"
        JSDL_SPMM_VARIANT=$v compute-sanitizer --tool memcheck --error-exitcode 9 /tmp/spmm_$b 130,700,0.3 136 $dt 1 2>&1 | tail -n 2
      done
      echo "== racecheck spmm $b wgmma $dt"
      JSDL_SPMM_VARIANT=wgmma compute-sanitizer --tool racecheck --error-exitcode 9 /tmp/spmm_$b 200,900,0.4 256 $dt 1 2>&1 | tail -n 2
    done; done
  } > $OUT/sanitizer.log 2>&1
  echo "sanitizer $(( $(date +%s) - T0 )) s: $(grep -c 'ERROR SUMMARY: 0 errors\|RACECHECK SUMMARY: 0 hazards' $OUT/sanitizer.log) of 18 clean"
  python3 scripts/fit_wgmma_time.py $OUT/harness.log --label new > $OUT/fit-new.txt 2>&1; head -n 1 $OUT/fit-new.txt;;
2)
  [ "${PATCH_VARIANT:-new}" = whole ] && whole .
  COMMIT="$(cat .dlmc/commit)+patch" STAGES=build bash scripts/gpu_run.sh > $OUT/build-pkg.log 2>&1; tail -n 1 $OUT/build-pkg.log
  (cd /tmp && JAX_PLATFORMS=cuda timeout 240 python3 -m pytest -q -n 15 $R/tests/test_gpu_variants.py \
    $R/tests/test_spmm_heuristic.py -k "spmm and (wgmma or pipeline or heuristic)" -rs) > $OUT/pytest-wgmma.log 2>&1
  echo "tests rc=$? $(( $(date +%s) - T0 )) s"; tail -n 2 $OUT/pytest-wgmma.log;;
esac
{ echo "commit: $(cat .dlmc/commit) + $P/pipeline.patch"; date -u
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
  python3 -c "import jax; print('jax', jax.__version__)"; nvcc --version | tail -n 1; } > $OUT/env.txt 2>&1
cd $OUT && tar -czf all.tgz --exclude=all.tgz * && find . -maxdepth 1 -type f ! -name all.tgz ! -name pairs.txt \
  ! -name env.txt ! -name sanitizer.log ! -name pytest-wgmma.log ! -name fit-new.txt -delete
