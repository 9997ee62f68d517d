"""Compares the machine code of the kernels in two cubins, kernel by kernel.

A change meant to leave some kernels as they were can be checked without a GPU (this machine has
nvcc but neither cuobjdump nor nvdisasm): build both trees' sources to cubins with the same flags,
then compare each kernel's code section (.text.<mangled name>) and its attributes (.nv.info.<name>:
registers, barriers, parameters) byte for byte. Identical bytes run identically, so the timings
and tests of the old build carry over to those kernels.

Usage: python scripts/compare_cubins.py OLD.cubin NEW.cubin [--match SUBSTRING]
Build a cubin as CMakeLists.txt builds the module, e.g.:
  nvcc -std=c++17 -O3 -lineinfo -arch=sm_90a -DJSDL_SM90A -Xcompiler=-fPIC \
    -I$(python -c "import jax; print(jax.ffi.include_dir())") -cubin cuda/spmm/spmm_ffi.cu -o a.cubin
Prints `same` or `differs` for each kernel and exits 1 if any differs or is missing.
"""

from __future__ import annotations

import argparse
import struct
import subprocess
import sys

_SECTION_HEADER = "<IIQQQQIIQQ"  # ELF64: name, type, flags, addr, offset, size, link, info, ..
_NOBITS = 8


def sections(path: str) -> dict[str, bytes]:
  """The sections of an ELF64 little-endian file by name (NOBITS ones as their size)."""
  with open(path, "rb") as f:
    data = f.read()
  if data[:4] != b"\x7fELF" or data[4] != 2:
    raise ValueError(f"{path}: not an ELF64 file")
  (shoff,) = struct.unpack_from("<Q", data, 0x28)
  shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
  headers = [struct.unpack_from(_SECTION_HEADER, data, shoff + i * shentsize)
             for i in range(shnum)]
  names_at = headers[shstrndx][4]

  def name(offset: int) -> str:
    start = names_at + offset
    return data[start:data.index(b"\0", start)].decode()

  return {name(h[0]): (b"size %d" % h[5] if h[1] == _NOBITS else data[h[4]:h[4] + h[5]])
          for h in headers}


def kernels(secs: dict[str, bytes], match: str) -> dict[str, tuple[bytes, bytes]]:
  """Each kernel's (code, attributes), by mangled name."""
  out = {}
  for key, code in secs.items():
    if key.startswith(".text.") and match in key:
      name = key[len(".text."):]
      out[name] = (code, secs.get(".nv.info." + name, b""))
  return out


def demangle(name: str) -> str:
  try:
    return subprocess.run(["c++filt", name], capture_output=True, text=True,
                          check=True).stdout.strip()
  except (OSError, subprocess.CalledProcessError):
    return name


def main(argv: list[str] | None = None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("old")
  parser.add_argument("new")
  parser.add_argument("--match", default="", help="only kernels whose mangled name holds this")
  args = parser.parse_args(argv)
  old = kernels(sections(args.old), args.match)
  new = kernels(sections(args.new), args.match)
  if not old and not new:
    print("no kernels matched", file=sys.stderr)
    return 1
  bad = 0
  for name in sorted(old.keys() | new.keys()):
    if name not in old or name not in new:
      verdict = "only in " + ("new" if name in new else "old")
    elif old[name] == new[name]:
      verdict = "same"
    else:
      verdict = "differs: " + ", ".join(
          what for what, a, b in (("code", old[name][0], new[name][0]),
                                  ("attributes", old[name][1], new[name][1])) if a != b)
    bad += verdict != "same"
    print(f"{verdict:24s} {demangle(name)}")
  print(f"{len(old.keys() | new.keys()) - bad} same, {bad} not")
  return 1 if bad else 0


if __name__ == "__main__":
  sys.exit(main())
