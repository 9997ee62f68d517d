# Session 58, call 3 (carry [".dlmc/bin/sddmm_harness", ".dlmc/slim"]; the harness from
# scripts/build_device_wheel.sh at 3f1fa41, whose SDDMM code is 63f29d9's): a sweep of the SDDMM
# forms on the 98% patterns, float32 at HIGHEST, where the benchmark of record (call 1) has the
# lowest ratios to cuSPARSE: the transformer's 512 x 512 (0.90x / 1.01x / 1.48x at d = 64 / 256
# / 2048) and ResNet-50's 128 x 512 (1.53x over its three d). The heuristic (the flat kernel)
# against the row kernel's shapes, the flat kernel's splits and lanes, the SIMT tile and the
# 3xTF32 mma.sync tile; two rounds, the second in reverse order.
set -u
S=$PWD/.dlmc/slim
H=$PWD/.dlmc/bin/sddmm_harness
gunzip -c $S/transformer/magnitude_pruning/0.98/*.smtx.gz > /tmp/t0.98.smtx
gunzip -c $S/rn50/magnitude_pruning/0.98/*.smtx.gz > /tmp/r0.98.smtx
V="auto row row:8:2 row:16:1 row:32:2 flat:1:8 flat:4:8 flat:8:8 flat:1:4 flat:16 tile:64 mma:64"
one() {  # one PATTERN D VARIANT
  if [ "$3" != auto ]; then export JSDL_SDDMM_VARIANT=$3; else unset JSDL_SDDMM_VARIANT; fi
  echo "== $(basename $1) d=$2 float32 $3 round $R"
  timeout 30 $H $1 $2 float32 15 || echo "!! exit $?"
}
T0=$(date +%s)
{
  for R in 1 2; do
    for p in /tmp/t0.98.smtx /tmp/r0.98.smtx; do for d in 64 256 2048; do
      for v in $V; do one $p $d $v; done
    done; done
    V=$(echo $V | tr ' ' '\n' | tac | tr '\n' ' ')
  done
} > $OUT/sweep98.log 2>&1
echo "sweep $(( $(date +%s) - T0 )) s; failures: $(grep -c '^!!' $OUT/sweep98.log)"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader > $OUT/env.txt
