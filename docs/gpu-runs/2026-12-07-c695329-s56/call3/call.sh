# Session 56, call 3 (carry [".dlmc/old56", ".dlmc/ab56",
# ".dlmc/s56", ".dlmc/slim"]). Harnesses built on the CPU machine: .dlmc/old56/* at c695329
# (git archive c695329; the same nvcc line), .dlmc/ab56/* from the working tree after 42cfac2 with
#   (1) AlignedStages (cuda/common/tma.cuh) moving smem_raw forward instead of casting an integer
#       back, so the TMA kernels' shared-memory accesses compile to LDS / STS (their SASS had
#       generic LD.E / ST.E: SpmmWgmmaKernel float32 72 and 40 loads, every epilogue's 32 stores);
#   (2) wgmma-local: values loaded with the columns, 32-bit item arithmetic.
#   nvcc -std=c++17 -O3 -arch=sm_90a -DJSDL_SM90A -I$INC scripts/<op>_harness.cu
#   (spmm_harness_new_clock: also -DJSDL_PHASE_CLOCK -DJSDL_PHASE_CLOCK_POINTS=5)
# 1. spmm: the heuristic's choice (auto) on the benchmark's 7 transformer patterns, N = 256 and
#    2048, float32 (HIGHEST), tf32 (DEFAULT), bfloat16: c695329 against new, two rounds in turn.
# 2. sddmm: the same patterns, d = 256 and 2048, the same types, the same way.
# 3. local: wgmma-local (new) against auto on 10 ResNet-50 patterns (k <= 256), two rounds; phase
#    clocks; odd shapes, memcheck and racecheck; memcheck of the new wgmma tiles.
set -u
S=$PWD/.dlmc/slim
T0=$(date +%s)
for f in .dlmc/s56/*.smtx.gz; do gunzip -c $f > /tmp/$(basename $f .gz); done
for l in 0.5 0.6 0.7 0.8 0.9 0.95 0.98; do gunzip -c $S/transformer/magnitude_pruning/$l/*.smtx.gz > /tmp/t$l.smtx; done
one() {  # one HARNESS PATTERN SIZE DTYPE VARIANT(auto: none) VARIABLE
  if [ "$5" != auto ]; then export $6=$5; else unset $6; fi
  echo "== $(basename $2) size=$3 $4 $5 $(basename $1) round $R"
  timeout 60 $1 $2 $3 $4 15 || echo "!! exit $?"
}
ab() {  # ab OLD NEW VARIABLE SIZES PATTERNS...
  local old=$1 new=$2 var=$3 sizes=$4; shift 4
  for R in 1 2; do
    for p in "$@"; do for s in $sizes; do for t in float32 tf32 bfloat16; do
      if [ $R = 1 ]; then one $old $p $s $t auto $var; one $new $p $s $t auto $var
      else one $new $p $s $t auto $var; one $old $p $s $t auto $var; fi
    done; done; done
  done
}
ab .dlmc/old56/spmm_harness .dlmc/ab56/spmm_harness_new JSDL_SPMM_VARIANT "256 2048" /tmp/t0.*.smtx \
  > $OUT/spmm.log 2>&1
echo "spmm $(( $(date +%s) - T0 )) s; failures: $(grep -c '^!!' $OUT/spmm.log)"
ab .dlmc/old56/sddmm_harness .dlmc/ab56/sddmm_harness_new JSDL_SDDMM_VARIANT "256 2048" /tmp/t0.*.smtx \
  > $OUT/sddmm.log 2>&1
echo "sddmm $(( $(date +%s) - T0 )) s; failures: $(grep -c '^!!' $OUT/sddmm.log)"
NEW=$PWD/.dlmc/ab56/spmm_harness_new
nof() {
  case $(basename $1) in
    J_*|K_*) echo 784;; L_*) echo 196;; M_*) echo 12544;; *) echo 3136;;
  esac
}
{
  for R in 1 2; do
    for p in /tmp/[ABCFGHIJKM]_*.smtx; do for t in float32 tf32; do
      if [ $R = 1 ]; then vs="auto wgmma-local"; else vs="wgmma-local auto"; fi
      for v in $vs; do one $NEW $p $(nof $p) $t $v JSDL_SPMM_VARIANT; done
    done; done
  done
  R=clock
  for p in /tmp/[ABFHK]_*.smtx; do for t in float32 tf32; do
    one .dlmc/ab56/spmm_harness_new_clock $p $(nof $p) $t wgmma-local JSDL_SPMM_VARIANT
  done; done
  R=odd
  for s in "1,1,1 4" "65,200,0.3 68" "130,256,0.7 100" "200,33,0.5 4" "300,100,0.02 132" \
    "64,256,0.001 64" "1000,250,0.1 36" "7,255,0.9 260" "64,256,1 64"; do
    for t in float32 tf32; do one $NEW $s $t wgmma-local JSDL_SPMM_VARIANT; done
  done
  for t in float32 tf32; do for tool in memcheck racecheck; do
    JSDL_SPMM_VARIANT=wgmma-local timeout 120 compute-sanitizer --tool $tool --error-exitcode 9 \
      $NEW 130,250,0.5 68 $t 1 2>&1 | tail -1
    echo "$tool wgmma-local $t exit ${PIPESTATUS[0]}"
  done; done
  for t in float32 tf32 bfloat16; do
    JSDL_SPMM_VARIANT=wgmma timeout 120 compute-sanitizer --tool memcheck --error-exitcode 9 \
      $NEW 130,700,0.4 264 $t 1 2>&1 | tail -1
    echo "memcheck spmm wgmma $t exit ${PIPESTATUS[0]}"
    JSDL_SDDMM_VARIANT=wgmma timeout 120 compute-sanitizer --tool memcheck --error-exitcode 9 \
      .dlmc/ab56/sddmm_harness_new 130,200,0.5 1000 $t 1 2>&1 | tail -1
    echo "memcheck sddmm wgmma $t exit ${PIPESTATUS[0]}"
  done
} > $OUT/local.log 2>&1
echo "local $(( $(date +%s) - T0 )) s; failures: $(grep -c '^!!' $OUT/local.log)"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader > $OUT/env.txt
