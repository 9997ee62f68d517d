# Session 53, call 2 (carry [".dlmc/wheel", ".dlmc/slim"]; about 5 minutes): the wheel of d0045fe
# (the 4-block split, the 3xTF32 rule that takes it and their tests; the branch is gone, its commit
# is s53-parts-d0045fe.patch here: `git am` it on 34d3872 to rebuild), built on the CPU machine by
# scripts/build_device_wheel.sh; the SDDMM GPU tests, then the SDDMM benchmark (39 problems).
# The call ran right after call 1 on the same machine, carry [".dlmc/ab4", ".dlmc/slim", ".dlmc/wheel"].
COMMIT=d0045fe WHEEL=$(ls $PWD/.dlmc/wheel/*.whl) DLMC=$PWD/.dlmc/slim STAGES="build pytest bench" \
  PYTEST_PATHS="$PWD/tests/test_gpu_variants.py $PWD/tests/test_gpu.py" PYTEST_ARGS="-k sddmm" \
  PYTEST_WORKERS=16 PYTEST_SECONDS=240 \
  BENCH_ARGS="--ops sddmm --limit-per-level 1 --skip-contenders dense*,bcoo*,bcsr* --time-budget 240" \
  bash scripts/gpu_run.sh
