"""Does a refactor keep the reports? Analyse one run folder with the code of a git ref and with the
checkout's, and diff quality.json, validation.json, triage.json, analyses.json and triage.md.

    python bench/refactor_check.py runs/demo              # against main
    python bench/refactor_check.py runs/demo --ref HEAD~3

The run folder is copied twice into a temporary folder (it is never changed); each copy is analysed
in its own process, one with the ref's tree (``git archive``) first on the import path. Exit 1 when
anything differs.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

from report_diff import REPORTS, differences  # noqa: E402

ANALYSE = "import sys; from pathlib import Path; from trainer.analysis.pipeline import analyze_run; analyze_run(Path(sys.argv[1]))"


def analyse(folder: Path, code: Path | None) -> None:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PYTHONPATH": str(code) if code else ""}
    subprocess.run([sys.executable, "-c", ANALYSE, str(folder)], cwd=folder.parent, env=env, check=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--ref", default="main", help="the git ref whose code analyses the first copy (default: main)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="amygdala-refactor-") as tmp:
        work = Path(tmp)
        code = work / "ref"
        code.mkdir()
        archive = subprocess.run(["git", "archive", args.ref], cwd=REPO, capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(code)], input=archive, check=True)
        old, new = work / "old" / args.run.name, work / "new" / args.run.name
        for copy in (old, new):
            shutil.copytree(args.run, copy)
        analyse(old, code)
        analyse(new, None)
        total = 0
        for name in REPORTS:
            found = differences(json.loads((old / name).read_text()), json.loads((new / name).read_text()), 0.0)
            total += len(found)
            print(f"{name}: {'identical' if not found else f'{len(found)} difference(s)'}")
            for line in found[:20]:
                print(f"  {line}")
        same_md = (old / "triage.md").read_text() == (new / "triage.md").read_text()
        print(f"triage.md: {'identical' if same_md else 'differs'}")
        return 1 if total or not same_md else 0


if __name__ == "__main__":
    sys.exit(main())
