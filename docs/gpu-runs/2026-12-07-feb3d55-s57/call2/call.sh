# Session 57, call 2 (carry [".dlmc/wheel"]; the machine still warm after call 1, 215 s limit):
# GPU tests from the feb3d55 wheel, tests/test_sddmm.py and tests/test_gpu_variants.py -k sddmm.
mkdir -p $OUT; W=$(ls $PWD/.dlmc/wheel/*.whl); OUT=$OUT/tests WHEEL=$W COMMIT=feb3d55 STAGES="build pytest" PYTEST_SECONDS=170 PYTEST_PATHS="$PWD/tests/test_sddmm.py $PWD/tests/test_gpu_variants.py" PYTEST_ARGS="-k sddmm" bash scripts/gpu_run.sh > $OUT/tests.log 2>&1; grep -h ' passed\| failed' $OUT/tests/*.log | tail -3; cd $OUT && tar czf tests.tar.gz tests tests.log && rm -rf tests tests.log; ls -la
