# Session 57, call 1 (carry [".dlmc/wheel", ".dlmc/bin/sddmm_harness", ".dlmc/old57/sddmm_harness",
# ".dlmc/slim"]). Nine starts had failed (1396 s of the budget), so this call is cut to fit the
# ~400 s left: does the SDDMM wgmma tile, 1.25x faster in 3xTF32 since session 56's LDS stages
# (5762ecd), now beat the heuristic's choice at HIGHEST where ChooseSddmm keeps it out?
# old57 = the SDDMM harness at 5762ecd (the rules as they were; same SASS as 87736f4); bin = at
# feb3d55 (3xTF32 wgmma from d = 256 on 256 tiles, and from 4% density at d >= 1024); wheel =
# feb3d55; all built on the CPU machine by scripts/build_device_wheel.sh.
# 1. Harness, float32 (HIGHEST), the benchmark's transformer patterns, two rounds in turn:
#    256 tiles (512 x 2048 at 60%, 90%; 2048 x 512 at 70%, 95%): old auto against new auto at
#    d = 256 (and 1024, 2048 at 95%), old auto against wgmma at d = 64; 64 tiles (512 x 512 at
#    50%, 80%): old auto, wgmma, wgmma:2 (d split over a cluster), wgmma:1:2 (2 output shares)
#    at d = 256 and 2048.
# 2. The benchmark from the feb3d55 wheel on the transformer patterns at d = 256 and 2048:
#    jsdl_f32_highest and cuSPARSE side by side.
set -u
S=$PWD/.dlmc/slim
T0=$(date +%s)
for l in 0.5 0.6 0.7 0.8 0.9 0.95; do gunzip -c $S/transformer/magnitude_pruning/$l/*.smtx.gz > /tmp/t$l.smtx; done
one() {  # one HARNESS PATTERN D VARIANT
  if [ "$4" != auto ]; then export JSDL_SDDMM_VARIANT=$4; else unset JSDL_SDDMM_VARIANT; fi
  echo "== $(basename $2) d=$3 float32 $4 $(basename $(dirname $1)) round $R"
  timeout 60 $1 $2 $3 float32 15 || echo "!! exit $?"
}
O=.dlmc/old57/sddmm_harness; N=.dlmc/bin/sddmm_harness
pair() {  # pair PATTERN D NEWVARIANT: old auto and new, in the round's order
  if [ $R = 1 ]; then one $O $1 $2 auto; one $N $1 $2 $3; else one $N $1 $2 $3; one $O $1 $2 auto; fi
}
{
  for R in 1 2; do
    for p in /tmp/t0.6.smtx /tmp/t0.7.smtx /tmp/t0.9.smtx /tmp/t0.95.smtx; do
      pair $p 256 auto; pair $p 64 wgmma
    done
    pair /tmp/t0.95.smtx 1024 auto; pair /tmp/t0.95.smtx 2048 auto
    for p in /tmp/t0.5.smtx /tmp/t0.8.smtx; do for d in 256 2048; do
      if [ $R = 1 ]; then vs="auto wgmma wgmma:2 wgmma:1:2"; else vs="wgmma:1:2 wgmma:2 wgmma auto"; fi
      for v in $vs; do if [ $v = auto ]; then one $O $p $d auto; else one $N $p $d $v; fi; done
    done; done
  done
} > $OUT/rules.log 2>&1
echo "rules $(( $(date +%s) - T0 )) s; failures: $(grep -c '^!!' $OUT/rules.log)"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader > $OUT/env.txt
OUT0=$OUT
W=$(ls $PWD/.dlmc/wheel/*.whl)
OUT=$OUT0/sddmm WHEEL=$W COMMIT=feb3d55 DLMC=$S/transformer STAGES="build bench" \
  BENCH_ARGS="--ops sddmm --d 256,2048 --dtypes float32 --contenders jsdl_f32_highest,cusparse --limit-per-level 1 --time-budget 90 --no-plots" \
  bash scripts/gpu_run.sh > $OUT0/sddmm.log 2>&1
echo "bench $(( $(date +%s) - T0 )) s"
cp $OUT0/sddmm/bench/summary.md $OUT0/sddmm-summary.md; cp $OUT0/sddmm/bench/results.csv $OUT0/sddmm-results.csv
cd $OUT0 && tar czf sddmm.tar.gz sddmm sddmm.log && rm -rf sddmm sddmm.log
ls -la
