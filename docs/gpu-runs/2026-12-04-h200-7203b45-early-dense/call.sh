# Session 31, call 1: the SpMM wgmma tile with the producer in its own loop (the first stages'
# dense rows copied before the wait for the densify kernel) and the densify kernel's first loads
# before its zero-fill (working tree) against main (.dlmc/old). Build harnesses and the package;
# memcheck and racecheck of the new tile; harness side by side; SpMM GPU tests on the new build.
set -u
export OUT=${OUT:-$PWD/gpu-logs}
R=$PWD
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $OUT/gpu.txt
T0=$(date +%s)
INC=$(python3 -c "import jax; print(jax.ffi.include_dir())")
nvcc -std=c++17 -O3 -arch=sm_90a -DJSDL_SM90A -I$INC scripts/spmm_harness.cu -o /tmp/sh_new > $OUT/build-new.log 2>&1 &
nvcc -std=c++17 -O3 -arch=sm_90a -DJSDL_SM90A -I$INC .dlmc/old/scripts/spmm_harness.cu -o /tmp/sh_old > $OUT/build-old.log 2>&1 &
STAGES=build bash scripts/gpu_run.sh > $OUT/build-pkg.log 2>&1 &
wait; ls /tmp/sh_new /tmp/sh_old; tail -n 2 $OUT/build-pkg.log; echo "built $(( $(date +%s) - T0 )) s"
export JSDL_SPMM_VARIANT=wgmma
for dt in tf32 float32 bfloat16; do
  for s in "130,200,0.3 40" "512,512,0.3 8192" "70,64,0.5 136" "300,700,0.97 264"; do
    compute-sanitizer --tool memcheck --error-exitcode 9 /tmp/sh_new $s $dt 1 2>&1 | tail -n 2
  done
  compute-sanitizer --tool racecheck --error-exitcode 9 /tmp/sh_new 200,300,0.4 8192 $dt 1 2>&1 | tail -n 2
done > $OUT/sanitize.log 2>&1
echo "sanitize $(( $(date +%s) - T0 )) s"; grep -c "0 errors\|0 hazards" $OUT/sanitize.log; grep -v "0 errors\|0 hazards" $OUT/sanitize.log | grep -v "^m=" | head
for f in transformer/magnitude_pruning/0.5/body_decoder_layer_0_encdec_attention_multihead_attention_k_fully_connected \
    transformer/magnitude_pruning/0.6/body_decoder_layer_0_ffn_conv2_fully_connected \
    transformer/magnitude_pruning/0.7/body_decoder_layer_0_ffn_conv1_fully_connected \
    transformer/magnitude_pruning/0.8/body_decoder_layer_0_encdec_attention_multihead_attention_k_fully_connected \
    transformer/magnitude_pruning/0.9/body_decoder_layer_0_ffn_conv2_fully_connected \
    transformer/magnitude_pruning/0.95/body_decoder_layer_0_ffn_conv1_fully_connected \
    rn50/magnitude_pruning/0.7/bottleneck_2_block_group2_1_1 rn50/magnitude_pruning/0.8/bottleneck_1_block_group1_1_1; do
  name=$(echo $f | cut -d/ -f1,3,4 | tr / -); gunzip -c .dlmc/$f.smtx.gz > /tmp/$name.smtx
  case $f in rn50*0.7*) ns="25088";; rn50*) ns="3136 200704";; *) ns="256 2048 8192";; esac
  for n in $ns; do for dt in tf32 float32 bfloat16; do for v in old new old new; do
    echo "== $name n=$n $dt $v"; timeout 20 /tmp/sh_$v /tmp/$name.smtx $n $dt 11
  done; done; done
done > $OUT/harness.log 2>&1
echo "harness $(( $(date +%s) - T0 )) s"
grep -E "^==|us=" $OUT/harness.log | paste - - | awk '{print $2,$3,$4,$5,$(NF-2)}' | sed 's/us=//' > $OUT/pairs.txt
python3 - $OUT/pairs.txt <<'PY'
import sys, math, collections
rows = collections.defaultdict(lambda: collections.defaultdict(list))
for line in open(sys.argv[1]):
    p = line.split()
    if len(p) < 5: continue
    try: rows[(p[0][:40], p[1], p[2])][p[3]].append(float(p[4]))
    except ValueError: pass
logs = []
for key, v in rows.items():
    if v['old'] and v['new']:
        o, n = min(v['old']), min(v['new']); logs.append(math.log(o / n))
        print(*key, f"old {o:.2f} new {n:.2f} x{o/n:.3f}")
print("geomean old/new", math.exp(sum(logs) / len(logs)) if logs else None, len(logs))
PY
export XLA_PYTHON_CLIENT_PREALLOCATE=false PYTHONUNBUFFERED=1
left=$(( ${TOTAL:-570} - ($(date +%s) - T0) - 10 ))
(cd /tmp && JAX_PLATFORMS=cuda timeout $left python3 -m pytest -q -n 15 $R/tests/test_spmm.py $R/tests/test_spmm_heuristic.py \
  $R/tests/test_gpu_variants.py -k "not sddmm and not softmax" -rs) > $OUT/pytest-spmm.log 2>&1
echo "tests rc=$? $(( $(date +%s) - T0 )) s"; tail -n 3 $OUT/pytest-spmm.log
{ echo "commit: $(cat .dlmc/commit) + working tree (producer loop, early dense rows; densify's first loads)"; date -u
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
  python3 -c "import jax; print('jax', jax.__version__)"; nvcc --version | tail -n 2; } > "$OUT/env.txt" 2>&1
cd $OUT && tar -czf all.tgz --exclude=all.tgz *.log *.txt && rm -f *.log
