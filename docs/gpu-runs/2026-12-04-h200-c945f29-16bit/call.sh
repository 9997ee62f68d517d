# Session 30, one device call: call81's harness builds start beside call80's build; then call80
# (16-bit tile on wip/spmm-wgmma-16bit) and call81 (TF32 consumer variants) one after the other.
set -u
export OUT=${OUT:-$PWD/gpu-logs}
R=$PWD; BASE=$OUT
INC=$(python3 -c "import jax; print(jax.ffi.include_dir())")
mkdir -p $BASE/c80 $BASE/c81
# prebuild call81's harnesses in the background (call81's own build step then finds them)
(for v in "base " "one -DEXP_ONEGROUP" "pipe -DEXP_PIPE" "c3 -DEXP_CONSUMERS=3" "c3pipe -DEXP_CONSUMERS=3 -DEXP_PIPE"; do
  set -- $v; n=$1; shift
  nvcc -std=c++17 -O3 -arch=sm_90a -DJSDL_SM90A "$@" -I$INC .dlmc/exp2/scripts/spmm_harness.cu -o /tmp/sh_$n > $BASE/c81/prebuild-$n.log 2>&1 &
done; wait) &
PRE=$!
(OUT=$BASE/c80 timeout 420 bash .dlmc/call80.sh) 2>&1 | tail -n 60
wait $PRE
(OUT=$BASE/c81 timeout 170 bash .dlmc/call81.sh) 2>&1 | tail -n 50
