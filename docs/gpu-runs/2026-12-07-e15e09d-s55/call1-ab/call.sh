# Session 55, call 1 (ran at 07:58 on an H100, 104 s; carry [".dlmc/ab", ".dlmc/ab2",
# ".dlmc/slim"]): two standalone-harness A/Bs against head (e15e09d), CUDA events, two rounds in turn, each output
# checked against float64 by the harness. Built on the CPU machine:
#   .dlmc/ab/sddmm_harness_{head,window}: bash scripts/build_ab_harnesses.sh
#     docs/gpu-runs/2026-12-07-b329452-s54/call5-window/window.patch window sddmm (at e15e09d)
#   .dlmc/ab2/sddmm_harness_staged: the same nvcc line at e15e09d + staged.patch (commit 00c48ad)
# 1. window (session 54's prepared call 5, its harness part as prepared): the SDDMM flat kernel's
#    row search with row_offsets in registers for m <= 512, on every DLMC pattern of the
#    benchmark that takes the flat kernel (ResNet-50's six, the transformer's 98%) at d = 64 and
#    256 in float32 at HIGHEST and d = 64 in bfloat16 (d = 2048 left out: the device time left
#    for this call was about 4 minutes); odd shapes under the flat variants; memcheck.
# 2. staged: the tile kernels of edge 64 with the output's entry positions and columns staged in
#    shared memory during the d-loop (cp.async), on the benchmark's transformer patterns at
#    50-95% (the tile kernels' problems), the same d and types; odd shapes under the mma and
#    SIMT tile variants (d split, shares, 8 warps, d = 1 and 33); memcheck and racecheck.
set -u
S=$PWD/.dlmc/slim
T0=$(date +%s)
i=0
for f in $S/rn50/magnitude_pruning/*/*.smtx.gz $S/transformer/magnitude_pruning/0.98/*.smtx.gz; do
  i=$((i + 1)); gunzip -c $f > /tmp/p$i.smtx
done
for l in 0.5 0.6 0.7 0.8 0.9 0.95; do gunzip -c $S/transformer/magnitude_pruning/$l/*.smtx.gz > /tmp/t$l.smtx; done
H=$PWD/.dlmc/ab/sddmm_harness_head
one() {  # one PATTERN D DTYPE VARIANT HARNESS
  echo "== $(basename $1) d=$2 $3 $4 $(basename $5) round $R"
  if [ "$4" != - ]; then export JSDL_SDDMM_VARIANT=$4; else unset JSDL_SDDMM_VARIANT; fi
  timeout 60 $5 $1 $2 $3 9 || echo "!! exit $?"
}
ab() {  # ab NEW PATTERNS...: two rounds in turn against head
  local n=$1; shift
  for R in 1 2; do
    for p in "$@"; do
      for spec in "64 float32" "256 float32" "64 bfloat16"; do
        if [ $R = 1 ]; then one $p $spec - $H; one $p $spec - $n
        else one $p $spec - $n; one $p $spec - $H; fi
      done
    done
  done
}
sanitize() {  # sanitize HARNESS TOOL VARIANT PATTERN D
  JSDL_SDDMM_VARIANT=$3 timeout 120 compute-sanitizer --tool $2 --error-exitcode 9 $1 $4 $5 float32 1 2>&1 | tail -2
  echo "$2 $3 exit ${PIPESTATUS[0]}"
}
W=$PWD/.dlmc/ab/sddmm_harness_window
{
  ab $W /tmp/p*.smtx
  R=c
  for v in flat:1 flat:4 flat:1:4 flat:8:8; do
    for s in "512,8,0.005 40" "500,8,0.004 7" "513,64,0.05 64" "33,64,0.5 36" "32,50,0.3 64" \
      "1,1,1 8" "512,512,0.02 64" "300,2000,0.001 260" "1024,64,0.01 64"; do
      one $s float32 $v $W
    done
  done
  for v in flat:1 flat:1:4; do sanitize $W memcheck $v 512,8,0.005 40; done
} > $OUT/window.log 2>&1
echo "window $(( $(date +%s) - T0 )) s; failures: $(grep -c '^!!' $OUT/window.log)"
N=$PWD/.dlmc/ab2/sddmm_harness_staged
{
  ab $N /tmp/t0.*.smtx
  R=c
  for v in mma:64 mma:64:1:1 mma:64:1:2:2:8 mma:64:2 mma:64:1:2:4 tile:64 tile:64:2 tile:64:1:2; do
    for s in "512,512,0.5 64" "64,64,1 40" "100,70,0.9 33" "65,130,0.6 96" "512,512,0.02 64" \
      "300,200,0.3 1" "128,64,1 32" "1,1,1 8"; do
      one $s float32 $v $N
    done
    one 200,300,0.4 64 bfloat16 $v $N
  done
  for v in mma:64 tile:64:2 mma:64:1:2:2:8; do
    for tool in memcheck racecheck; do sanitize $N $tool $v 100,130,0.5 40; done
  done
} > $OUT/staged.log 2>&1
echo "both $(( $(date +%s) - T0 )) s; failures: $(grep -c '^!!' $OUT/staged.log)"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader > $OUT/env.txt
