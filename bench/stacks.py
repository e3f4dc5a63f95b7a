"""Adds up a py-spy profile recorded with `--format raw` (collapsed stacks):
`python -m bench.stacks FILE [--process gunicorn] [--within complete_step] [--top 40]`
prints, for the samples of the processes whose command line contains `--process` (and
whose stack holds a function named like `--within`), the share of those samples in which
each function was on the stack (its inclusive time), largest first."""

import argparse
import re
import sys
from collections import Counter
from pathlib import Path

FRAME = re.compile(r"^(?P<name>.+?) \((?P<file>[^:()]+)(?::\d+)?\)$")


def frame_label(frame: str) -> str:
    match = FRAME.match(frame.strip())
    if not match:
        return frame.strip()
    file = match["file"].split("site-packages/")[-1]
    return f"{match['name']} ({file})"


def inclusive_shares(lines: list[str], process: str, within: str = "") -> tuple[int, Counter]:
    total, seen = 0, Counter()
    for line in lines:
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        # With --subprocesses a stack starts with its process and those above it.
        owners = [n for n, f in enumerate(frames) if f.startswith("process ")]
        owner = frames[owners[-1]] if owners else ""
        if not count.isdigit() or process not in owner:
            continue
        labels = {frame_label(f) for f in frames[owners[-1] + 1 if owners else 0 :]}
        if within and not any(label.startswith(within) for label in labels):
            continue
        total += int(count)
        for label in labels:
            seen[label] += int(count)
    return total, seen


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.stacks", description=__doc__)
    parser.add_argument("file", type=Path)
    parser.add_argument("--process", default="gunicorn", help="part of the command line")
    parser.add_argument("--within", default="", help="only stacks through this function")
    parser.add_argument("--top", type=int, default=40)
    args = parser.parse_args(argv)
    lines = args.file.read_text().splitlines()
    total, seen = inclusive_shares(lines, args.process, args.within)
    if not total:
        sys.exit(f"no samples of processes matching {args.process!r}")
    print(f"{total} samples of processes matching {args.process!r}")
    for label, count in seen.most_common(args.top):
        print(f"{count / total:6.1%}  {label}")


if __name__ == "__main__":
    main(sys.argv[1:])
