# Session 46, call 4 (carry [".dlmc/bin", ".dlmc/wheel", ".dlmc/slim"]; about 6 minutes): the
# rows-stream rule's commit. 1. The GPU tests of the stream variants (rows-stream among them),
# and the MobileNet training test, from the wheel of COMMIT;
# compute-sanitizer memcheck of rows-stream. 2. The harness on the calls whose choice the rule
# changed: the heuristic (now rows-stream) against wide-stream (its choice before), in turn, twice.
set -u
C=${COMMIT:?COMMIT=<hash>}
SP=$PWD/.dlmc/bin/spmm_harness
D=$PWD/.dlmc/slim
T0=$(date +%s)
src() { gunzip -c $D/$1.smtx.gz > /tmp/$2.smtx; }
src rn50/magnitude_pruning/0.95/bottleneck_1_block_group_projection_block_group2 r95
src rn50/magnitude_pruning/0.98/bottleneck_1_block_group2_1_1 r98
src transformer/magnitude_pruning/0.98/body_decoder_layer_0_encdec_attention_multihead_attention_k_fully_connected t98
for r in 1 2; do
  for spec in "r95 802816 float32" "r98 200704 bfloat16" "t98 2048 float32" "t98 2048 bfloat16" \
      "t98 256 float32"; do
    set -- $spec
    vs="auto wide-stream"; [ $r = 2 ] && vs="wide-stream auto"
    for v in $vs; do
      echo "== $1 n=$2 $3 $v round $r"
      JSDL_SPMM_VARIANT=$([ $v = auto ] || echo $v) timeout 30 $SP /tmp/$1.smtx $2 $3 9 || echo "!! exit $?"
    done
  done
done > $OUT/harness-rule.log 2>&1
echo "harness $(( $(date +%s) - T0 )) s"
WHEEL=$(ls .dlmc/wheel/*.whl) COMMIT=$C STAGES="build pytest memcheck" PYTEST_WORKERS=16 \
  PYTEST_SECONDS=200 PYTEST_PATHS="$PWD/tests/test_gpu_variants.py" PYTEST_ARGS="-k stream" \
  MEMCHECK_RUNS="spmm:rows-stream" bash scripts/gpu_run.sh
(cd /tmp && JAX_PLATFORMS=cuda timeout 120 python3 -m pytest -q -p no:cacheprovider \
  "$OLDPWD/tests/test_nn_mobilenet.py" -k training_steps) > $OUT/pytest-mobilenet.log 2>&1
tail -n 3 $OUT/pytest-mobilenet.log
echo "all $(( $(date +%s) - T0 )) s"; grep -c "^!!" $OUT/harness-rule.log
