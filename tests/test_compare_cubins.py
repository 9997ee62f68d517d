"""scripts/compare_cubins.py: kernel-by-kernel comparison of machine code. Checked on host objects
built with one section a function (the same ELF layout as a cubin's .text.<kernel> sections):
a changed function is reported, an unchanged one is not, and a missing one fails the run."""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import compare_cubins as cc  # noqa: E402

pytestmark = pytest.mark.skipif(shutil.which("cc") is None, reason="needs a C compiler")

SOURCE = """
int kept(int x) { return 3 * x + 1; }
int changed(int x) { return x * x + %d; }
%s
"""


def build(tmp_path, name, constant, extra=""):
  src = tmp_path / f"{name}.c"
  src.write_text(SOURCE % (constant, extra))
  obj = tmp_path / f"{name}.o"
  subprocess.run(["cc", "-O2", "-ffunction-sections", "-c", str(src), "-o", str(obj)],
                 check=True)
  return str(obj)


def test_reports_the_changed_function_only(tmp_path, capsys):
  old = build(tmp_path, "old", 7)
  new = build(tmp_path, "new", 8)
  assert cc.main([old, new]) == 1
  lines = capsys.readouterr().out.splitlines()
  verdicts = {line.split()[-1]: line.split()[0] for line in lines[:-1]}
  assert verdicts == {"kept": "same", "changed": "differs:"}
  assert lines[-1] == "1 same, 1 not"


def test_identical_builds_pass_and_match_narrows(tmp_path, capsys):
  old = build(tmp_path, "old", 7)
  again = build(tmp_path, "again", 7)
  assert cc.main([old, again]) == 0
  new = build(tmp_path, "new", 8)
  assert cc.main([old, new, "--match", "kept"]) == 0
  assert capsys.readouterr().out.splitlines()[-1] == "1 same, 0 not"


def test_a_function_in_one_build_only_fails(tmp_path, capsys):
  old = build(tmp_path, "old", 7)
  new = build(tmp_path, "new", 7, "int added(int x) { return x - 2; }")
  assert cc.main([old, new]) == 1
  assert "only in new" in capsys.readouterr().out


def test_rejects_a_file_that_is_not_elf64(tmp_path):
  path = tmp_path / "x.cubin"
  path.write_bytes(b"not an elf file at all")
  with pytest.raises(ValueError, match="not an ELF64"):
    cc.sections(str(path))
