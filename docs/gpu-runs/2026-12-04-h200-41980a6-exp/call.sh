# Session 29, call 1: where the SpMM wgmma tile's chunk time goes. Harness variants of the tile
# built from .dlmc/exp (main + EXP_* switches): base; consumers skip the wgmma (NOCOMPUTE);
# producer copies nothing (NOCOPY), only the tile (NODENSE), only the dense rows (NOTILE);
# dense rows by one warp of 1-D bulk copies (BULKROWS); 2 or 3 stages instead of 4 (STAGES).
set -u
export OUT=${OUT:-$PWD/gpu-logs}
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $OUT/gpu.txt
T0=$(date +%s)
INC=$(python3 -c "import jax; print(jax.ffi.include_dir())")
build() { nvcc -std=c++17 -O3 -arch=sm_90a -DJSDL_SM90A $2 -I$INC .dlmc/exp/scripts/spmm_harness.cu -o /tmp/sh_$1 > $OUT/build-$1.log 2>&1; }
build base "" & build nocompute -DEXP_NOCOMPUTE & build nocopy -DEXP_NOCOPY & build nodense -DEXP_NODENSE &
build notile -DEXP_NOTILE & build bulk -DEXP_BULKROWS & build st2 -DEXP_STAGES=2 & build st3 -DEXP_STAGES=3 &
build bulk2 "-DEXP_BULKROWS -DEXP_STAGES=2" &
wait
ls /tmp/sh_*; echo "built $(( $(date +%s) - T0 )) s"
D=.dlmc/transformer/magnitude_pruning
gunzip -c $D/0.6/body_decoder_layer_0_ffn_conv2_fully_connected.smtx.gz > /tmp/a.smtx
gunzip -c .dlmc/rn50/magnitude_pruning/0.7/bottleneck_2_block_group2_1_1.smtx.gz > /tmp/c.smtx
for c in "/tmp/a.smtx 2048 tf32" "/tmp/a.smtx 2048 float32" "/tmp/c.smtx 25088 tf32" "512,512,0.5 256 tf32" "512,2048,0.4 256 tf32"; do
  set -- $c
  for v in base nocompute nocopy nodense notile bulk st2 st3 bulk2 base; do
    echo "== $1 n=$2 $3 $v"; JSDL_SPMM_VARIANT=wgmma timeout 20 /tmp/sh_$v $1 $2 $3 11
  done
done > $OUT/harness.log 2>&1
echo "harness $(( $(date +%s) - T0 )) s"
for t in tf32 float32; do for s in "130,200,0.3 36" "70,64,0.5 132"; do
  JSDL_SPMM_VARIANT=wgmma compute-sanitizer --tool memcheck --error-exitcode 9 /tmp/sh_bulk $s $t 1 2>&1 | tail -n 2
  JSDL_SPMM_VARIANT=wgmma compute-sanitizer --tool racecheck --error-exitcode 9 /tmp/sh_bulk $s $t 1 2>&1 | tail -n 2
done; done > $OUT/sanitize.log 2>&1
echo "sanitize $(( $(date +%s) - T0 )) s"; cat $OUT/sanitize.log
grep -E "^==|us=" $OUT/harness.log | paste - - | awk '{print $2,$3,$4,$5,$(NF-2),$NF}'
{ echo "commit: $(cat .dlmc/commit) + .dlmc/exp switches"; date -u
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
  python3 -c "import jax; print('jax', jax.__version__)"; nvcc --version | tail -n 2; } > "$OUT/env.txt" 2>&1
