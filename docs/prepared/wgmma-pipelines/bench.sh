# Session 36: the SDDMM benchmark (as at 7d72e1c) with pipeline.patch applied. Carry [".dlmc"].
set -u
export OUT=${OUT:-$PWD/gpu-logs}
R=$PWD
git apply docs/prepared/wgmma-pipelines/pipeline.patch 2>/dev/null || patch -p1 -N < docs/prepared/wgmma-pipelines/pipeline.patch > $OUT/patch.log 2>&1
echo "patch applied: $(grep -c SpmmWgmmaPipeline cuda/spmm/spmm_wgmma_kernel.cuh) $(grep -c SplitStep cuda/sddmm/sddmm_wgmma_kernel.cuh)"
COMMIT="$(cat .dlmc/commit)+patch" STAGES=build bash scripts/gpu_run.sh > $OUT/build-pkg.log 2>&1; tail -n 1 $OUT/build-pkg.log
export XLA_PYTHON_CLIENT_PREALLOCATE=false PYTHONUNBUFFERED=1
(cd /tmp && JAX_PLATFORMS=cuda timeout 190 python3 -m jax_sparse_dl.bench $R/.dlmc --ops sddmm \
  --limit-per-level 1 --skip-contenders 'dense*,bcoo*' --time-budget 150 --no-plots --out $OUT/bench) \
  > $OUT/bench.log 2>&1
grep "| all | all" $OUT/bench/summary.md
cd $OUT && tar -czf all.tgz *.log bench && rm -rf build-pkg.log patch.log bench
