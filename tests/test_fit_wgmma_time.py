"""scripts/fit_wgmma_time.py: the SpMM wgmma tile's time model, fitted to harness runs. The fit
recovers known constants from noisy synthetic runs, and the constants in
cuda/spmm/spmm_config.h are the fit of the recorded runs they came from."""
import re
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import fit_wgmma_time as fw  # noqa: E402

# The runs SpmmWgmmaConfig's constants were fitted to (session 32, call 1: the staged epilogue).
SOURCE_LOG = ROOT / "docs/gpu-runs/2026-12-04-h200-5ab00df-staged-epilogue/harness.log"
SOURCE_LABEL = "new"


def config_constants():
  text = (ROOT / "cuda/spmm/spmm_config.h").read_text()
  names = {"start": "kStartNanos", "wave": "kWaveNanos", "tf32": "kChunkNanosTf32",
           "split": "kChunkNanosSplit", "16bit": "kChunkNanos16Bit"}
  found = {}
  for key, name in names.items():
    match = re.search(rf"\b{name} = ([\d.e+]+)", text)
    assert match, f"{name} not found in spmm_config.h"
    found[key] = float(match.group(1))
  return found


def harness_line(run):
  dtype = {"tf32": "tf32", "split": "float32", "16bit": "bfloat16"}[run.kind]
  return (f"m={run.m} k={run.k} n={run.n} nnz=1 dtype={dtype} variant=wgmma us={run.us:.3f} "
          "tflops=1.0 rel_err=1e-7")


def test_fit_recovers_the_constants_of_noisy_runs():
  rng = np.random.default_rng(0)
  truth = fw.Model(6500.0, 4100.0, {"tf32": 610.0, "split": 1450.0, "16bit": 330.0})
  runs = []
  for m, k, n in [(512, 512, 256), (512, 2048, 2048), (2048, 512, 8192), (64, 256, 200704),
                  (512, 512, 8192), (2048, 512, 256), (128, 1152, 25088), (512, 2048, 256)]:
    for kind in fw.TYPES:
      exact = truth.predict_us(fw.Run(m, k, n, kind, 1.0), sms=132)
      runs.append(fw.Run(m, k, n, kind, exact * (1 + rng.uniform(-0.02, 0.02))))
  lines = ["== a problem new"] + [harness_line(run) for run in runs]
  parsed = fw.parse(lines, label="new")
  assert parsed == [fw.Run(r.m, r.k, r.n, r.kind, round(r.us, 3)) for r in runs]
  model = fw.fit(parsed, sms=132)
  assert model.start_ns == pytest.approx(truth.start_ns, rel=0.1)
  assert model.wave_ns == pytest.approx(truth.wave_ns, rel=0.05)
  for kind in fw.TYPES:
    assert model.chunk_ns[kind] == pytest.approx(truth.chunk_ns[kind], rel=0.03)


def test_parse_keeps_the_labelled_wgmma_runs_only():
  lines = ["== x n=256 tf32 old", "m=512 k=512 n=256 nnz=9 dtype=tf32 variant=wgmma us=18.0",
           "== x n=256 tf32 new", "m=512 k=512 n=256 nnz=9 dtype=tf32 variant=wgmma us=16.5",
           "m=512 k=512 n=256 nnz=9 dtype=tf32 variant=gather us=30.0",
           "  phases: 8 blocks, starts spread 96 ns",
           # forced one part over k counts; the tile in parts is not the model's
           "m=512 k=512 n=256 nnz=9 dtype=float32 variant=wgmma:1 us=21.5",
           "m=512 k=512 n=256 nnz=9 dtype=float32 variant=wgmma:2 us=12.0",
           "m=512 k=512 n=256 nnz=9 dtype=float32 variant=wgmma:12 us=9.0"]
  assert fw.parse(lines, label="new") == [fw.Run(512, 512, 256, "tf32", 16.5),
                                          fw.Run(512, 512, 256, "split", 21.5)]
  assert [run.us for run in fw.parse(lines)] == [18.0, 16.5, 21.5]
  with pytest.raises(ValueError, match="unknown dtype"):
    fw.parse(["m=1 k=1 n=1 nnz=1 dtype=float64 variant=wgmma us=1.0"])


def test_fit_needs_runs_of_every_type():
  runs = [fw.Run(512, 512, 256, "tf32", 16.0), fw.Run(512, 512, 2048, "split", 22.0)]
  with pytest.raises(ValueError, match="16bit"):
    fw.fit(runs, sms=132)
  with pytest.raises(ValueError, match="no wgmma runs"):
    fw.fit([], sms=132)


def test_the_config_constants_are_the_fit_of_their_runs():
  with open(SOURCE_LOG) as f:
    runs = fw.parse(f, SOURCE_LABEL)
  assert len(runs) == 36
  model = fw.fit(runs, sms=132)
  config = config_constants()
  assert model.start_ns == pytest.approx(config["start"], rel=0.02)
  assert model.wave_ns == pytest.approx(config["wave"], rel=0.02)
  for kind in fw.TYPES:
    assert model.chunk_ns[kind] == pytest.approx(config[kind], rel=0.02)
  errors = np.array([model.predict_us(run, 132) / run.us - 1 for run in runs])
  assert np.abs(errors).max() < 0.15  # the header: -14% to +11%


def test_main_prints_the_constants(capsys):
  assert fw.main([str(SOURCE_LOG), "--label", SOURCE_LABEL]) == 0
  out = capsys.readouterr().out
  assert out.startswith("kStartNanos 67")
  assert "30 of 36 within 10%" in out
