# Ran in session 49 from docs/prepared/s49-passes/ at 281dd1f (the patch is now commit 5b181e6:
# git format-patch -1 5b181e6 gives it back).
# On the CPU machine, from the repository root at a clean commit (about 2 minutes): the SpMM
# harness of HEAD (.dlmc/ab/spmm_harness_head) and of HEAD with narrow-stream.patch
# (.dlmc/ab/spmm_harness_narrow) (git-ignored; carry [".dlmc/ab", ".dlmc/slim"]). Needs
# .dlmc/slim (python scripts/slim_dlmc.py .dlmc .dlmc/slim --limit-per-level 1) and jax's FFI
# headers (pip install -q '.[test]').
set -euo pipefail
REPO=$PWD
INC=$(python3 -c "import jax; print(jax.ffi.include_dir())")
rm -rf .dlmc/ab /tmp/s49 && mkdir -p .dlmc/ab /tmp/s49/head /tmp/s49/narrow
for t in head narrow; do git archive HEAD cuda scripts | tar -x -C /tmp/s49/$t; done
(cd /tmp/s49/narrow && git apply "$REPO/docs/prepared/s49-passes/narrow-stream.patch" \
  --include='cuda/*')
grep -q SpmmStreamNarrowConfig /tmp/s49/narrow/cuda/spmm/spmm_ffi.cu
for t in head narrow; do
  nvcc -std=c++17 -O3 -arch=sm_90a -DJSDL_SM90A -I"$INC" "/tmp/s49/$t/scripts/spmm_harness.cu" \
    -o ".dlmc/ab/spmm_harness_$t" 2> ".dlmc/ab/$t.ptxas.log" &
done
wait
git rev-parse --short HEAD > .dlmc/ab/commit
ls -la .dlmc/ab
