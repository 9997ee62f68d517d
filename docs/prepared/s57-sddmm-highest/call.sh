# Prepared in session 56 (not run: no device time left). SDDMM at HIGHEST: does the wgmma tile,
# 1.25x faster in 3xTF32 since 5762ecd's LDS stages, now beat the heuristic's choice where the
# rules (ChooseSddmm, from session 25) keep it out: d = 256 on 256 tiles (mma.sync), the 64-tile
# 512 x 512 patterns at d >= 512 (mma.sync split over a cluster), and 2048 x 512 at 95% (under
# split_tf32_min: the CUDA-core kernels)?
# Build on the CPU machine at the commit to measure: bash scripts/build_device_wheel.sh (its
# .dlmc/bin/sddmm_harness); python3 scripts/slim_dlmc.py .dlmc .dlmc/slim --limit-per-level 1
# (check that .dlmc/slim holds only rn50/ and transformer/: session 56's call 5 took a stray
# folder as suite "other"). Carry [".dlmc/bin/sddmm_harness", ".dlmc/slim"]; about 2 minutes.
set -u
S=$PWD/.dlmc/slim
H=$PWD/.dlmc/bin/sddmm_harness
for l in 0.5 0.6 0.7 0.8 0.9 0.95; do gunzip -c $S/transformer/magnitude_pruning/$l/*.smtx.gz > /tmp/t$l.smtx; done
one() {  # one PATTERN D VARIANT
  if [ "$3" != auto ]; then export JSDL_SDDMM_VARIANT=$3; else unset JSDL_SDDMM_VARIANT; fi
  echo "== $(basename $1) d=$2 float32 $3 round $R"
  timeout 60 $H $1 $2 float32 15 || echo "!! exit $?"
}
{
  for R in 1 2; do
    for p in /tmp/t0.*.smtx; do for d in 256 512 1024 2048; do
      vs="auto wgmma wgmma:2 wgmma:1:2"
      [ $R = 2 ] && vs="wgmma:1:2 wgmma:2 wgmma auto"
      for v in $vs; do one $p $d $v; done
    done; done
  done
} > $OUT/rules.log 2>&1
echo "failures: $(grep -c '^!!' $OUT/rules.log)"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader > $OUT/env.txt
