# On the CPU machine, from the repository root at a clean commit (about 3 minutes): the SpMM
# harness of HEAD (base), of HEAD with snake-warp.patch (sw) and of HEAD with
# gather-direct.patch (gd) into .dlmc/ab/ (git-ignored; carry [".dlmc/ab", ".dlmc/slim"], about
# 16 MB). Needs .dlmc/slim
# (python scripts/slim_dlmc.py .dlmc .dlmc/slim --limit-per-level 1).
set -euo pipefail
REPO=$PWD
INC=$(python3 -c "import jax; print(jax.ffi.include_dir())")
rm -rf .dlmc/ab /tmp/sw-ab && mkdir -p .dlmc/ab /tmp/sw-ab/base /tmp/sw-ab/sw /tmp/sw-ab/gd
for t in base sw gd; do git archive HEAD cuda scripts | tar -x -C /tmp/sw-ab/$t; done
(cd /tmp/sw-ab/sw && git apply "$REPO/docs/prepared/s48-snake-warp/snake-warp.patch" \
  --include='cuda/*')
grep -q SnakeLocal /tmp/sw-ab/sw/cuda/spmm/spmm_stream_kernel.cuh
(cd /tmp/sw-ab/gd && git apply "$REPO/docs/prepared/s48-snake-warp/gather-direct.patch")
grep -q "kRowBatch > 1 ? slot" /tmp/sw-ab/gd/cuda/spmm/spmm_gather_kernel.cuh
for t in base sw gd; do
  nvcc -std=c++17 -O3 -arch=sm_90a -DJSDL_SM90A -I"$INC" "/tmp/sw-ab/$t/scripts/spmm_harness.cu" \
    -o ".dlmc/ab/spmm_harness_$t" 2> ".dlmc/ab/$t.ptxas.log" &
done
wait
git rev-parse --short HEAD > .dlmc/ab/commit
ls -la .dlmc/ab
