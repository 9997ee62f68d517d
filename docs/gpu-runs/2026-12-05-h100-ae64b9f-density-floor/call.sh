# Session 43 ran this at ae64b9f (WGMMA_MIN_DENSITY then 0.05; compare.py sets 0.05 and 0.01 itself).
# One device call (carry [".dlmc"]; .dlmc/commit holds the checkout's short hash): the density
# comparison, about 4-5 min, after building the package unless this warm machine already has this
# commit installed by an earlier call of this script (a fresh machine: about 2 min more).
set -u
export OUT=${OUT:-$PWD/gpu-logs} XLA_PYTHON_CLIENT_PREALLOCATE=false PYTHONUNBUFFERED=1
unset JSDL_SPMM_VARIANT JSDL_SDDMM_VARIANT
R=$PWD
T0=$(date +%s)
export COMMIT=$(cat .dlmc/commit)
if [ "$(cat /tmp/jsdl-installed 2>/dev/null)" != "$COMMIT" ]; then
  STAGES=build bash scripts/gpu_run.sh > $OUT/build.log 2>&1 && echo $COMMIT > /tmp/jsdl-installed
  tail -n 1 $OUT/build.log
fi
(cd /tmp && timeout $(( ${TOTAL:-580} - ($(date +%s) - T0) )) \
  python3 $R/docs/gpu-runs/2026-12-05-h100-ae64b9f-density-floor/compare.py $R/.dlmc) > $OUT/density.txt 2>&1
echo "density rc=$? $(( $(date +%s) - T0 )) s"; cat $OUT/density.txt
