# Session 30 (prepared in session 29): the TF32 wgmma tile's consumers, now its bound (a chunk
# 0.66 us against 0.26 us of tensor work). Harness variants built from .dlmc/exp2 (main 1c6e907 +
# EXP_* switches): base; one wgmma group a chunk (ONEGROUP, slower when copies bounded it,
# session 28); the second slice's fragment loads while the first slice's wgmmas run (PIPE);
# 3 consumer warpgroups, 192 columns a block, 3 stages (CONSUMERS=3; TF32 only: 3xTF32 spills).
set -u
export OUT=${OUT:-$PWD/gpu-logs}
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $OUT/gpu.txt
T0=$(date +%s)
INC=$(python3 -c "import jax; print(jax.ffi.include_dir())")
build() { [ -x /tmp/sh_$1 ] && return; nvcc -std=c++17 -O3 -arch=sm_90a -DJSDL_SM90A $2 $3 -I$INC .dlmc/exp2/scripts/spmm_harness.cu -o /tmp/sh_$1 > $OUT/build-$1.log 2>&1; }
build base "" & build one -DEXP_ONEGROUP & build pipe -DEXP_PIPE & build c3 -DEXP_CONSUMERS=3 & build c3pipe -DEXP_CONSUMERS=3 -DEXP_PIPE &
wait
ls /tmp/sh_*; echo "built $(( $(date +%s) - T0 )) s"
D=.dlmc/transformer/magnitude_pruning
gunzip -c $D/0.6/body_decoder_layer_0_ffn_conv2_fully_connected.smtx.gz > /tmp/a.smtx
gunzip -c $D/0.7/body_decoder_layer_0_ffn_conv1_fully_connected.smtx.gz > /tmp/b.smtx
gunzip -c .dlmc/rn50/magnitude_pruning/0.7/bottleneck_2_block_group2_1_1.smtx.gz > /tmp/c.smtx
for c in "/tmp/a.smtx 2048" "/tmp/b.smtx 2048" "/tmp/c.smtx 25088" "512,512,0.5 2048" "/tmp/a.smtx 8192"; do
  set -- $c
  for v in base one pipe c3 c3pipe base; do
    echo "== $1 n=$2 tf32 $v"; JSDL_SPMM_VARIANT=wgmma timeout 20 /tmp/sh_$v $1 $2 tf32 11
  done
done > $OUT/harness.log 2>&1
echo "harness $(( $(date +%s) - T0 )) s"
for v in pipe c3 c3pipe; do for s in "130,200,0.3 36" "200,300,0.4 200"; do
  JSDL_SPMM_VARIANT=wgmma compute-sanitizer --tool memcheck --error-exitcode 9 /tmp/sh_$v $s tf32 1 2>&1 | tail -n 1
done; JSDL_SPMM_VARIANT=wgmma compute-sanitizer --tool racecheck --error-exitcode 9 /tmp/sh_$v 200,300,0.4 200 tf32 1 2>&1 | tail -n 1
done > $OUT/sanitize.log 2>&1
echo "sanitize $(( $(date +%s) - T0 )) s"; cat $OUT/sanitize.log
grep -E "^==|us=" $OUT/harness.log | paste - - | awk '{print $2,$3,$5,$(NF-2),$NF}'
{ echo "commit: $(cat .dlmc/commit) + .dlmc/exp2 switches"; date -u
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
  python3 -c "import jax; print('jax', jax.__version__)"; nvcc --version | tail -n 2; } > "$OUT/env.txt" 2>&1
cd $OUT && tar -czf all.tgz --exclude=all.tgz *.log *.txt && rm -f *.log
