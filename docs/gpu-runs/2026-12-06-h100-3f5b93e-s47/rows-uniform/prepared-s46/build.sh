# On the CPU machine, from the repository root (about 3 minutes): the SpMM harness of HEAD and of
# HEAD with rows-uniform.patch at 16, 24 and 32 warps, into .dlmc/ab/ (git-ignored; carry
# [".dlmc/ab", ".dlmc/slim"], 22 MB, built without -lineinfo, which doubles each harness). HEAD's
# rows-stream is the session 46 kernel (79822f7).
set -euo pipefail
REPO=$PWD
INC=$(python3 -c "import jax; print(jax.ffi.include_dir())")
rm -rf .dlmc/ab /tmp/rows-ab && mkdir -p .dlmc/ab /tmp/rows-ab
build() {  # build NAME TREE
  nvcc -std=c++17 -O3 -arch=sm_90a -DJSDL_SM90A -Xptxas -v -I"$INC" \
    "$2/scripts/spmm_harness.cu" -o ".dlmc/ab/spmm_harness_$1" 2> ".dlmc/ab/$1.ptxas.log"
  grep -A2 "SpmmStreamKernel.*Lb1ELb1E" ".dlmc/ab/$1.ptxas.log" | grep -E "registers|spill" \
    | paste - - | sed "s/^/$1 /" | cut -c1-160
}
build base "$REPO" &
for warps in 16 24 32; do
  tree=/tmp/rows-ab/u$warps && mkdir -p $tree
  git archive HEAD cuda scripts | tar -x -C $tree
  (cd $tree && patch -s -p1 < "$REPO/docs/prepared/s46-rows-uniform/rows-uniform.patch")
  sed -i "s/using SpmmStreamRowsConfig = SpmmStreamConfigT<16,/using SpmmStreamRowsConfig = SpmmStreamConfigT<$warps,/" \
    $tree/cuda/spmm/spmm_config.h
  grep -q "SpmmStreamConfigT<$warps, 1, false, 2, true, true>" $tree/cuda/spmm/spmm_config.h
  build u$warps $tree &
done
wait
git rev-parse --short HEAD > .dlmc/ab/commit
ls -la .dlmc/ab
