"""Run metadata and the result files: results.jsonl (one record per line, appended as they come),
results.json ({"metadata", "records"}, rewritten after every matrix) and results.csv."""

from __future__ import annotations

import csv
import datetime
import json
import math
import os
import platform
import shlex
import subprocess
from pathlib import Path

__all__ = ["peak_fp32_tflops", "collect_metadata", "ResultWriter", "CSV_COLUMNS", "PEAK_FP32",
           "load_results", "write_csv"]

# fp32 (non-tensor-core) peak, TFLOP/s, by a substring of the device name (first match wins).
PEAK_FP32 = (
    ("H100 PCIe", 51.2, "H100 PCIe"),
    ("H100 NVL", 60.0, "H100 NVL"),
    ("H200 NVL", 60.0, "H200 NVL"),
    ("GH200", 67.0, "GH200"),
    ("H200", 66.9, "H200 SXM"),
    ("H100", 66.9, "H100 SXM"),
    ("A100", 19.5, "A100"),
    ("L40S", 91.6, "L40S"),
)

CSV_COLUMNS = (
    "op", "suite", "method", "level", "matrix", "m", "k", "n", "d", "nnz", "sparsity", "n_class",
    "contender", "family", "dtype", "precision", "status", "reason", "median_us", "min_us",
    "max_us", "calls", "repeats", "compile_s", "compiles", "tflops", "pct_peak", "gbps",
    "pct_copy_bw", "rel_err", "tol", "checked", "best_alg", "wall_s", "heads", "seq", "problem",
    "path",
)


def peak_fp32_tflops(device_kind: str, override: float | None = None):
    """(TFLOP/s or None, where it came from)."""
    if override:
        return float(override), "--peak-tflops"
    for key, value, label in PEAK_FP32:
        if key.lower() in (device_kind or "").lower():
            return value, f"table: {label}"
    return None, f"unknown device {device_kind!r} (give --peak-tflops)"


def _run(cmd, cwd=None, timeout=10):
    try:
        r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.SubprocessError):
        return None
    return r.stdout.strip() if r.returncode == 0 else None


def git_info() -> dict:
    """Commit of the package's source tree (or the current folder's); $COMMIT if set."""
    import jax_sparse_dl
    info = {}
    if os.environ.get("COMMIT"):
        info["commit_env"] = os.environ["COMMIT"]
    for where in (Path(jax_sparse_dl.__file__).resolve().parent, Path.cwd()):
        commit = _run(["git", "rev-parse", "HEAD"], cwd=where)
        if commit:
            info["commit"] = commit
            info["dirty"] = bool(_run(["git", "status", "--porcelain", "--untracked-files=no"],
                                      cwd=where))
            info["repo"] = str(where)
            break
    return info


def nvidia_smi():
    out = _run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total,clocks.max.sm,"
                "power.limit", "--format=csv,noheader"])
    return out.splitlines() if out else None


def forced_kernel_choices(environment: dict) -> dict:
    """The JSDL_*_VARIANT overrides among a run's environment variables: with any set, jsdl ran
    the kernels they name, not the heuristic's (session 41's benchmark ran with one left set)."""
    return {k: v for k, v in sorted(environment.items())
            if k.startswith("JSDL_") and k.endswith("_VARIANT") and v}


def collect_metadata(argv, options: dict, env, contenders, peak) -> dict:
    import jax
    import jaxlib

    import jax_sparse_dl as jsdl
    from .common import TOLERANCES

    dev = jax.devices()[0]
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": shlex.join(["python", "-m", "jax_sparse_dl.bench", *argv]),
        "python": platform.python_version(),
        "host": platform.node(),
        "jax": jax.__version__,
        "jaxlib": getattr(jaxlib, "__version__", None) or jax.lib.__version__,
        "package_version": getattr(jsdl, "__version__", None),
        "git": git_info(),
        "backend": env.backend,
        "device_kind": dev.device_kind,
        "device_count": jax.device_count(),
        "nvidia_smi": nvidia_smi(),
        "environment": {k: v for k, v in sorted(os.environ.items())
                        if k.startswith(("JSDL_", "XLA_", "JAX_", "CUDA_VISIBLE"))},
        "jsdl_cuda_kernels": env.jsdl_cuda,
        "cusparse": "available" if env.cusparse is not None else env.cusparse_reason,
        "peak": {"fp32_tflops": peak[0], "source": peak[1]},
        "options": options,
        "timing": ("jax_sparse_dl.timing.time_per_call: calls in one jitted fori_loop, median of "
                   "repeats after warm-up; compiled loops reused across problems of equal shapes"),
        "tolerances": TOLERANCES,
        "contenders": {op: [{"name": c.name, "family": c.family, "dtype": c.dtype,
                             "precision": c.precision, "tol": TOLERANCES[c.tol_class],
                             "description": c.description, "skip": c.skip} for c in cs]
                       for op, cs in contenders.items()},
    }


def _clean(value):
    """JSON-safe: non-finite floats become None."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def _atomic_write(path: Path, text: str):
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


class ResultWriter:
    """Appends records to results.jsonl at once; ``flush()`` rewrites results.json and .csv."""

    def __init__(self, out_dir, metadata: dict):
        self.dir = Path(out_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.metadata = metadata
        self.records: list[dict] = []
        self._jsonl = open(self.dir / "results.jsonl", "w")
        self.flush()

    def add(self, record: dict):
        record = _clean(record)
        self.records.append(record)
        self._jsonl.write(json.dumps(record) + "\n")
        self._jsonl.flush()

    def flush(self):
        _atomic_write(self.dir / "results.json",
                      json.dumps({"metadata": _clean(self.metadata), "records": self.records},
                                 indent=1))
        write_csv(self.dir / "results.csv", self.records)

    def close(self):
        self.flush()
        self._jsonl.close()


def write_csv(path, records):
    extra = sorted({k for r in records for k in r} - set(CSV_COLUMNS))
    columns = list(CSV_COLUMNS) + extra
    tmp = Path(path).with_name(Path(path).name + ".tmp")
    with open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore")
        w.writeheader()
        for r in records:
            w.writerow({k: ("" if r.get(k) is None else r.get(k)) for k in columns})
    os.replace(tmp, path)


def _read_jsonl(path):
    out = []
    for line in Path(path).read_text().splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:  # a line cut off by a killed run
            pass
    return out


def _csv_value(text: str):
    if text == "":
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def read_csv(path):
    """The records of a results.csv, numbers as numbers and empty cells as None."""
    with open(path, newline="") as f:
        return [{k: _csv_value(v) for k, v in row.items()} for row in csv.DictReader(f)]


def load_results(out_dir):
    """(metadata, records) from results.json, or from results.jsonl when the run was cut off
    before the first results.json, or from results.csv alone (the recorded runs in docs/gpu-runs
    keep only the csv); metadata {} without results.json."""
    out_dir = Path(out_dir)
    path = out_dir / "results.json"
    if path.is_file():
        data = json.loads(path.read_text())
        records = data.get("records", [])
        jsonl = out_dir / "results.jsonl"
        if jsonl.is_file():  # records written after the last results.json (a cut-off run)
            lines = _read_jsonl(jsonl)
            if len(lines) > len(records):
                records = lines
        return data.get("metadata", {}), records
    jsonl = out_dir / "results.jsonl"
    if jsonl.is_file():
        return {}, _read_jsonl(jsonl)
    if (out_dir / "results.csv").is_file():
        return {}, read_csv(out_dir / "results.csv")
    raise FileNotFoundError(f"no results.json, results.jsonl or results.csv in {out_dir}")
