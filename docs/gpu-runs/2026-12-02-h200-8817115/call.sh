# Prepared in session 14 for the next session, after call26 (and the merge of wip/sddmm-s14 if it
# wins): the SDDMM and csr_softmax benchmark by the device clock, 1 DLMC matrix a level, all 39
# problems (session 14's run stopped at 17 in 190 s; SpMM's device-clock run at 4a1ce74 is whole
# and its kernels have not changed since).
# Before: `git checkout main && git rev-parse --short HEAD > .dlmc/commit`. About 590 s.
set -u
export OUT=${OUT:-$PWD/gpu-logs}
export COMMIT=$(cat .dlmc/commit)
BENCH_ARGS="--ops sddmm,softmax --limit-per-level 1 --time-budget 480" STAGES="build bench" bash scripts/gpu_run.sh
find $OUT/bench -type f ! -name results.csv ! -name summary.md -delete
rm -f $OUT/build.log

# --- second call on the same commit: .dlmc/call28.sh
# Prepared in session 14 for the next session: the small SpMM problems where cuSPARSE wins
# (512 x 512 at 98%, N = 256: 4.0 against 5.4 us), by the device clock, with the gather layouts,
# which no device-clock tuning has timed yet (the heuristic's wide stream kernel copies a 512-row
# panel a block to use a few rows of it). Before: `git rev-parse --short HEAD > .dlmc/commit`.
# About 260 s.
set -u
export OUT=${OUT:-$PWD/gpu-logs}
export COMMIT=$(cat .dlmc/commit)
TUNE_SECONDS=200 TUNE_ARGS="--suite transformer --levels 0.95,0.98 --clock device --dtypes float32 \
--variants auto,wide-stream,stream,panel:32:2,gather,gather:64:1:16:8,gather:32:1:8:8,gather:128:1:32:4,gather:64:2:8:32" \
STAGES="build tune" bash scripts/gpu_run.sh
rm -f $OUT/build.log
