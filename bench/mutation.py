"""Mutation testing of the statistics kernel (trainer/stats/) with mutmut, against every test that reaches it.

    python bench/mutation.py                  # or: make mutation
    python bench/mutation.py --keep /tmp/mut  # keep the work folder (then `mutmut browse` there)

A dev tool, not part of `make test`: it installs mutmut (``pip install 'mutmut>=3.3,<4'``) into the
running interpreter when it is missing. It copies the project's tracked files into a scratch folder
(the checkout is never touched), adds the mutmut configuration there, and runs ``mutmut run``:
mutmut changes one operator, number, comparison or argument inside a kernel function at a time,
and a mutant is *killed* when some test that reaches that function fails. mutmut records, in one
first pass, which tests reach each function, so a mutant runs only those (fastest first, stopping
at the first failure). The test set is every test file that exercises the analysis, the use steps
or the kernel, without the real-model tests (``-m "not model"``).

Prints the kill rate (killed / mutants that some test reached) and the diff of every survivor.
mutmut mutates inside functions only: module constants (the band's percentiles, the tie tolerance)
are pinned by tests/test_stats_kernel.py directly.
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
MUTMUT = "mutmut>=3.3,<4"
# Every test file that reaches trainer.stats through an analysis, a use step or the kernel itself.
TESTS = (
    "tests/test_stats_kernel.py",
    "tests/test_statistics.py",
    "tests/test_validation.py",
    "tests/test_quality.py",
    "tests/test_triage.py",
    "tests/test_analyses.py",
    "tests/test_compare.py",
    "tests/test_eval_steer_math.py",
    "tests/test_readout_eval_steer.py",
    "tests/test_runfolder.py",
    "tests/test_report.py",
)
CONFIG = """
[tool.mutmut]
source_paths = ["base", "schemas", "toolkit", "trainer"]
only_mutate = ["trainer/stats/*"]
also_copy = ["tests", "manifest.json", "amygdala_stories", "bench"]
pytest_add_cli_args_test_selection = {tests}
pytest_add_cli_args = ["-p", "no:cacheprovider", "-m", "not model", "-q"]
# a mutant that makes the tests run twice as long as the clean run counts as killed (timeout)
timeout_multiplier = 2.0
timeout_constant = 5.0
"""


def ensure_mutmut() -> None:
    try:
        import mutmut  # noqa: F401
    except ImportError:
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", MUTMUT], check=True)


def copy_project(into: Path) -> None:
    """The tracked and untracked-but-not-ignored files of the checkout, as they are on disk now."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], cwd=REPO, capture_output=True, check=True
    ).stdout.decode().split("\0")
    for rel in filter(None, listed):
        source = REPO / rel
        if source.is_file():
            target = into / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    with (into / "pyproject.toml").open("a", encoding="utf-8") as fh:
        fh.write(CONFIG.format(tests=json.dumps(list(TESTS))))


def mutmut(work: Path, *args: str, capture: bool = False) -> str:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PYTHONPATH": ""}
    done = subprocess.run(
        [sys.executable, "-m", "mutmut", *args], cwd=work, env=env, text=True, capture_output=capture, check=not capture
    )
    return done.stdout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="work folder to keep (default: a temporary one, removed after)")
    parser.add_argument("--max-children", type=int, default=2, help="mutants tested at once (default 2: the machine's cores)")
    parser.add_argument("mutants", nargs="*", help="mutant name patterns to test, e.g. 'trainer.stats.permutation*' (default: all)")
    args = parser.parse_args()
    ensure_mutmut()
    work = args.keep or Path(tempfile.mkdtemp(prefix="amygdala-mutation-"))
    try:
        if not (work / "mutants").exists():
            work.mkdir(parents=True, exist_ok=True)
            copy_project(work)
        mutmut(work, "run", "--max-children", str(args.max_children), *args.mutants)
        mutmut(work, "export-cicd-stats")
        stats = json.loads((work / "mutants" / "mutmut-cicd-stats.json").read_text())
        listed = mutmut(work, "results", "--all", "true", capture=True)
        survivors = [line.split(":")[0].strip() for line in listed.splitlines() if line.strip().endswith(": survived")]
        reached = stats["total"] - stats["no_tests"] - stats["skipped"]
        killed = stats["killed"] + stats["timeout"] + stats["segfault"]
        print()
        print(f"trainer/stats: {stats['total']} mutants, {reached} reached by a test, {stats['no_tests']} by none")
        print(f"killed {killed} of {reached} ({killed / max(reached, 1):.1%}); survived {stats['survived']}, suspicious {stats['suspicious']}")
        for name in survivors:
            print()
            print(mutmut(work, "show", name, capture=True).rstrip())
        return 0
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
