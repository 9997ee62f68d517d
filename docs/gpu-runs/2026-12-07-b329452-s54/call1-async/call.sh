# Session 54, call 1 (04:06, 45 s on an NVIDIA H200; carry [".dlmc/ab5", ".dlmc/slim", ".dlmc/wheel"],
# the wheel for a follow-up call that was not needed): session 53's prepared call 3 as it was,
# the harnesses built by docs/gpu-runs/2026-12-07-34d3872-s53/call3-async/build.sh at f733d7c
# (whose cuda/ and scripts/ are 34d3872's and b329452's).
bash docs/gpu-runs/2026-12-07-34d3872-s53/call3-async/call.sh
