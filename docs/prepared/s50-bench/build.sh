# On the CPU machine, from the repository root at a clean commit (about 1 minute): the SpMM
# harness of HEAD (.dlmc/ab/spmm_harness_head) and of HEAD with fill-stream.patch
# (.dlmc/ab/spmm_harness_fill) (git-ignored; carry [".dlmc/ab", ".dlmc/slim"]). Needs
# .dlmc/slim (python scripts/slim_dlmc.py .dlmc .dlmc/slim --limit-per-level 1) and jax's FFI
# headers (pip install -q '.[test]').
set -euo pipefail
REPO=$PWD
INC=$(python3 -c "import jax; print(jax.ffi.include_dir())")
rm -rf .dlmc/ab /tmp/s50 && mkdir -p .dlmc/ab /tmp/s50/head /tmp/s50/fill
for t in head fill; do git archive HEAD cuda scripts | tar -x -C /tmp/s50/$t; done
(cd /tmp/s50/fill && git apply "$REPO/docs/prepared/s50-bench/fill-stream.patch" --include='cuda/*')
grep -q SpmmStreamFillConfig /tmp/s50/fill/cuda/spmm/spmm_ffi.cu
for t in head fill; do
  nvcc -std=c++17 -O3 -arch=sm_90a -DJSDL_SM90A -I"$INC" "/tmp/s50/$t/scripts/spmm_harness.cu" \
    -o ".dlmc/ab/spmm_harness_$t" 2> ".dlmc/ab/$t.ptxas.log" &
done
wait
git rev-parse --short HEAD > .dlmc/ab/commit
ls -la .dlmc/ab
