"""scripts/gpu_run.sh's build stage with WHEEL (a wheel built on the CPU machine by
scripts/build_device_wheel.sh): it installs the wheel only when the wheel's commit is COMMIT and
its modules load, and otherwise builds from source, so a stale or broken wheel never stands in for
the code under test. A fake python3 on PATH records what the script asks of it. Also its bench
stage, whose files must fit the 8 the device returns."""
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(shutil.which("bash") is None or shutil.which("timeout") is None,
                                reason="needs bash and timeout")

# Appends its arguments to $FAKE_LOG; fails the import check when $FAKE_IMPORT_FAILS is set.
FAKE_PYTHON = """#!/usr/bin/env bash
echo "$*" >> "$FAKE_LOG"
case "$*" in
  *has_cuda_kernels*) [ -z "${FAKE_IMPORT_FAILS:-}" ] ;;
  *) exit 0 ;;
esac
"""


def run_build(tmp_path, commit, wheel_commit, import_fails=False):
  bin_dir = tmp_path / "bin"
  bin_dir.mkdir()
  fake = bin_dir / "python3"
  fake.write_text(FAKE_PYTHON)
  fake.chmod(0o755)
  wheel_dir = tmp_path / "wheel"
  wheel_dir.mkdir()
  wheel = wheel_dir / "jax_sparse_dl-0.1.0-cp312-cp312-linux_x86_64.whl"
  wheel.write_bytes(b"")
  (wheel_dir / "commit").write_text(f"{wheel_commit}\n")
  log = tmp_path / "calls.log"
  env = dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}", OUT=str(tmp_path / "out"),
             STAGES="build", COMMIT=commit, WHEEL=str(wheel), FAKE_LOG=str(log))
  if import_fails:
    env["FAKE_IMPORT_FAILS"] = "1"
  result = subprocess.run(["bash", str(ROOT / "scripts/gpu_run.sh")], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
  calls = log.read_text().splitlines() if log.exists() else []
  return result.returncode, [c for c in calls if c.startswith("-m pip install")], calls


def test_a_wheel_of_the_commit_that_loads_replaces_the_build(tmp_path):
  rc, installs, calls = run_build(tmp_path, "abc1234", "abc1234")
  assert rc == 0
  assert len(installs) == 1 and "--force-reinstall" in installs[0] and ".whl" in installs[0]
  assert any("has_cuda_kernels" in c and "available" in c for c in calls)


def test_a_wheel_of_another_commit_is_not_installed(tmp_path):
  rc, installs, _ = run_build(tmp_path, "abc1234", "0ld0ld0")
  assert rc == 0
  assert len(installs) == 1 and "--no-build-isolation" in installs[0] and ".whl" not in installs[0]
  assert "not COMMIT 'abc1234'" in (tmp_path / "out" / "build.log").read_text()


def test_a_wheel_that_does_not_load_falls_back_to_the_source_build(tmp_path):
  rc, installs, _ = run_build(tmp_path, "abc1234", "abc1234", import_fails=True)
  assert rc == 0  # the source build succeeded: the failed wheel does not fail the run
  assert [".whl" in i for i in installs] == [True, False]
  assert "--no-build-isolation" in installs[1]


# The bench stage's fake: writes what `python -m jax_sparse_dl.bench ... --out DIR` writes.
FAKE_BENCH = """#!/usr/bin/env bash
out=""; prev=""
for a in "$@"; do [ "$prev" = --out ] && out=$a; prev=$a; done
mkdir -p "$out"
for f in results.csv results.json results.jsonl summary.md spmm_speedup.png spmm_peak.png; do
  echo "$f" > "$out/$f"
done
"""


def test_the_bench_stage_leaves_few_enough_files_for_the_device_to_return(tmp_path):
  bin_dir = tmp_path / "bin"
  bin_dir.mkdir()
  (bin_dir / "python3").write_text(FAKE_BENCH)
  (bin_dir / "python3").chmod(0o755)
  out = tmp_path / "out"
  env = dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}", OUT=str(out), STAGES="bench",
             COMMIT="abc1234", DLMC=str(tmp_path))
  result = subprocess.run(["bash", str(ROOT / "scripts/gpu_run.sh")], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
  assert result.returncode == 0, result.stdout + result.stderr
  assert sorted(p.name for p in (out / "bench").iterdir()) == [
      "extras.tar.gz", "results.csv", "summary.md"]
  assert len([p for p in out.rglob("*") if p.is_file()]) <= 8
  listing = subprocess.run(["tar", "-tzf", str(out / "bench" / "extras.tar.gz")],
                           capture_output=True, text=True, check=True).stdout.split()
  assert sorted(n.removeprefix("./") for n in listing) == [
      "results.json", "results.jsonl", "spmm_peak.png", "spmm_speedup.png"]
