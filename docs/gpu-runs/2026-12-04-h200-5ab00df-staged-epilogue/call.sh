# Session 32, call 1: the prepared patches of session 31 (StoreVec by st.global.v4; the wgmma tile's staged
# epilogue) on 5ab00df, measured against main 18989c4 in .dlmc/old (391 s on the device). Set-up:
# put main's sources in .dlmc/old (git archive main cuda scripts | tar -x -C .dlmc/old), the DLMC
# sample in .dlmc and the commit in .dlmc/commit; run with carry [".dlmc"]:
# build (harnesses old and new, two with phase clocks: the wgmma tile's and the densify kernel's;
# the package), the harness side by side on transformer and ResNet-50 problems of sessions 30-31
# with the phase clocks, the time model refitted, memcheck / racecheck, and the SpMM GPU tests
# (bias + ReLU, non-finite outputs, several work items).
set -u
export OUT=${OUT:-$PWD/gpu-logs}
R=$PWD
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $OUT/gpu.txt
T0=$(date +%s)
export COMMIT=$(cat .dlmc/commit)
INC=$(python3 -c "import jax; print(jax.ffi.include_dir())")
nvcc -std=c++17 -O3 -arch=sm_90a -DJSDL_SM90A -I$INC scripts/spmm_harness.cu -o /tmp/sh_new > $OUT/build-new.log 2>&1 &
nvcc -std=c++17 -O3 -arch=sm_90a -DJSDL_SM90A -I$INC .dlmc/old/scripts/spmm_harness.cu -o /tmp/sh_old > $OUT/build-old.log 2>&1 &
nvcc -std=c++17 -O3 -arch=sm_90a -DJSDL_SM90A -DJSDL_PHASE_CLOCK -I$INC scripts/spmm_harness.cu -o /tmp/sh_pc > $OUT/build-pc.log 2>&1 &
nvcc -std=c++17 -O3 -arch=sm_90a -DJSDL_SM90A -DJSDL_PHASE_CLOCK -DJSDL_PHASE_CLOCK_KERNEL=1 -I$INC scripts/spmm_harness.cu \
  -o /tmp/sh_pcd > $OUT/build-pcd.log 2>&1 &
STAGES=build bash scripts/gpu_run.sh > $OUT/build-pkg.log 2>&1 &
wait; ls /tmp/sh_new /tmp/sh_old /tmp/sh_pc /tmp/sh_pcd; tail -n 2 $OUT/build-pkg.log; echo "built $(( $(date +%s) - T0 )) s"
export JSDL_SPMM_VARIANT=wgmma
for f in transformer/magnitude_pruning/0.5/body_decoder_layer_0_encdec_attention_multihead_attention_k_fully_connected \
    transformer/magnitude_pruning/0.6/body_decoder_layer_0_ffn_conv2_fully_connected \
    transformer/magnitude_pruning/0.7/body_decoder_layer_0_ffn_conv1_fully_connected \
    transformer/magnitude_pruning/0.8/body_decoder_layer_0_encdec_attention_multihead_attention_k_fully_connected \
    transformer/magnitude_pruning/0.9/body_decoder_layer_0_ffn_conv2_fully_connected \
    rn50/magnitude_pruning/0.8/bottleneck_1_block_group1_1_1; do
  name=$(echo $f | cut -d/ -f1,3,4 | tr / -); gunzip -c .dlmc/$f.smtx.gz > /tmp/$name.smtx
  case $f in rn50*) ns="3136 200704";; *) ns="256 2048";; esac
  for n in $ns; do for dt in float32 tf32 bfloat16; do for v in old new; do
    echo "== $name n=$n $dt $v"; timeout 10 /tmp/sh_$v /tmp/$name.smtx $n $dt 7
  done; echo "== $name n=$n $dt phases"; timeout 10 /tmp/sh_pc /tmp/$name.smtx $n $dt 3
  if [ $n = ${ns%% *} ]; then echo "== $name $dt densify phases"; timeout 10 /tmp/sh_pcd /tmp/$name.smtx $n $dt 3; fi
  done; done
done > $OUT/harness.log 2>&1
echo "harness $(( $(date +%s) - T0 )) s"
awk '/^==/ {name = $2; n = $3; dt = $4; label = $NF}
     /us=/ && (label == "old" || label == "new") {
       for (i = 1; i <= NF; ++i) if ($i ~ /^us=/) us = substr($i, 4)
       print substr(name, 1, 36), n, dt, label, us}' $OUT/harness.log | tee $OUT/pairs.txt
grep -A2 "phases$" $OUT/harness.log | grep -E "^==|phases:" | head -80
python3 scripts/fit_wgmma_time.py $OUT/harness.log --label new > $OUT/fit-new.txt; head -n 1 $OUT/fit-new.txt
python3 scripts/fit_wgmma_time.py $OUT/harness.log --label old | head -n 1
for dt in bfloat16 float32 tf32; do
  for s in "130,200,0.3 40" "70,64,0.5 136" "300,700,0.97 264"; do
    compute-sanitizer --tool memcheck --error-exitcode 9 /tmp/sh_new $s $dt 1 2>&1 | tail -n 1
  done
  compute-sanitizer --tool racecheck --error-exitcode 9 /tmp/sh_new 200,300,0.4 8192 $dt 1 2>&1 | tail -n 1
done > $OUT/sanitize.log 2>&1
echo "sanitize $(( $(date +%s) - T0 )) s"; grep -c "0 errors\|0 hazards" $OUT/sanitize.log
export XLA_PYTHON_CLIENT_PREALLOCATE=false PYTHONUNBUFFERED=1
left=$(( ${TOTAL:-570} - ($(date +%s) - T0) - 10 ))
(cd /tmp && JAX_PLATFORMS=cuda timeout $left python3 -m pytest -q -n 15 $R/tests/test_spmm.py $R/tests/test_spmm_heuristic.py \
  $R/tests/test_gpu_variants.py -k "not sddmm and not softmax" -rs) > $OUT/pytest-spmm.log 2>&1
echo "tests rc=$? $(( $(date +%s) - T0 )) s"; tail -n 2 $OUT/pytest-spmm.log
{ echo "commit: $COMMIT"; date -u
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
  python3 -c "import jax; print('jax', jax.__version__)"; nvcc --version | tail -n 2; } > "$OUT/env.txt" 2>&1
cd $OUT && tar -czf all.tgz --exclude=all.tgz *.log *.txt && rm -f build*.log
