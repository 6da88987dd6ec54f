"""Diff the analysis reports of two run folders: every JSON path whose value differs.

    python bench/report_diff.py RUN_A RUN_B [--files quality.json validation.json ...] [--tolerance 0]

A refactor of the analysis must leave the reports of one run identical: analyse a copy of the same
run folder with the old code and with the new one, then diff them here (exit 1 when they differ).
Timings are left out; they differ on every run.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

REPORTS = ("quality.json", "validation.json", "triage.json", "analyses.json")
IGNORED_KEYS = {"timings"}


def differences(a: object, b: object, tolerance: float, path: str = "") -> list[str]:
    """JSON paths where ``a`` and ``b`` differ (numbers within ``tolerance`` count as equal)."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for key in sorted(set(a) | set(b)):
            if key in IGNORED_KEYS:
                continue
            where = f"{path}.{key}" if path else str(key)
            if key not in a or key not in b:
                out.append(f"{where}: only in {'B' if key not in a else 'A'}")
            else:
                out += differences(a[key], b[key], tolerance, where)
        return out
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{path}: {len(a)} items vs {len(b)}"]
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in differences(x, y, tolerance, f"{path}[{i}]")]
    numbers = (int, float)
    if isinstance(a, numbers) and isinstance(b, numbers) and not isinstance(a, bool) and not isinstance(b, bool):
        same = a == b or (math.isnan(a) and math.isnan(b)) or abs(a - b) <= tolerance
        return [] if same else [f"{path}: {a!r} vs {b!r}"]
    return [] if a == b else [f"{path}: {a!r} vs {b!r}"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_a", type=Path)
    parser.add_argument("run_b", type=Path)
    parser.add_argument("--files", nargs="+", default=list(REPORTS))
    parser.add_argument("--tolerance", type=float, default=0.0, help="numbers this close count as equal (default: exact)")
    parser.add_argument("--show", type=int, default=20, help="differences printed per file")
    args = parser.parse_args()
    total = 0
    for name in args.files:
        a, b = args.run_a / name, args.run_b / name
        if not a.exists() and not b.exists():
            continue
        if not a.exists() or not b.exists():
            print(f"{name}: only in {'B' if not a.exists() else 'A'}")
            total += 1
            continue
        found = differences(json.loads(a.read_text()), json.loads(b.read_text()), args.tolerance)
        total += len(found)
        print(f"{name}: {'identical' if not found else f'{len(found)} difference(s)'}")
        for line in found[: args.show]:
            print(f"  {line}")
    return 1 if total else 0


if __name__ == "__main__":
    sys.exit(main())
