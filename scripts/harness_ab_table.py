"""A markdown table of a harness A/B log: per pattern and d, each arm's rounds (µs) and the first
arm's best time over each other arm's (> 1: that arm faster).

The log is what the call scripts write: a line `== NAME.smtx d=D DTYPE ARM round R` before each
harness run, whose output line holds `m=.. k=.. .. us=..`.
Usage: python3 scripts/harness_ab_table.py LOG [LOG ...] --arms head,rows
"""
import argparse
import collections
import re


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("logs", nargs="+")
  parser.add_argument("--arms", required=True, help="comma-separated; the first is the base")
  args = parser.parse_args()
  arms = args.arms.split(",")
  times, shape, current = collections.defaultdict(list), {}, None
  for path in args.logs:
    for line in open(path):
      head = re.match(r"== (\S+)\.smtx d=(\d+) \S+ (\S+) round \d", line)
      if head:
        current = head.groups()
        continue
      run = re.search(r"m=(\d+) k=(\d+) .*us=([\d.]+)", line)
      if run and current:
        times[current].append(float(run[3]))
        shape[current[0]] = f"{run[1]} x {run[2]}"
  print("| pattern | d | " + " | ".join(arms) + " | " +
        " | ".join(f"{arms[0]} / {a}" for a in arms[1:]) + " |")
  print("|" + " --- |" * (2 * len(arms) + 1))
  for name, d in sorted({k[:2] for k in times}, key=lambda k: (int(k[1]), k[0])):
    runs = [times.get((name, d, a), []) for a in arms]
    cells = [" / ".join(f"{t:.2f}" for t in r) or "-" for r in runs]
    ratios = [f"{min(runs[0]) / min(r):.2f}x" if runs[0] and r else "-" for r in runs[1:]]
    print(f"| {name} ({shape[name]}) | {d} | " + " | ".join(cells + ratios) + " |")


if __name__ == "__main__":
  main()
