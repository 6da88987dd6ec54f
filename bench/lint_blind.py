"""Score the KW rules once on a blind batch: texts labelled by someone who never saw the rules' code.

    python bench/lint_blind.py DIR

DIR holds ``labels.json`` and ``texts/NAME.txt``, in the format of ``tests/lint_labelled/``
(docs/lint-accuracy.md, "Scoring a blind batch"): for each NAME, ``concept`` (a manifest
concept: the text is filed as ``stories/<concept>/NAME.txt``), ``trap`` (what the text
tests, free text), ``batch`` (any label) and ``expect``, the findings it must get as
``[code, word]`` pairs (``[]`` for a clean text). Prints the table of
``tests/test_lint_accuracy.py`` (per rule, errors, all KW; Wilson 95% intervals) and every
mistake, and the commit of the rules it scored. Exit 2 on a malformed batch.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from test_lint_accuracy import CODES, run, table  # noqa: E402

from toolkit.lint.rules import BY_CODE  # noqa: E402


def check_batch(folder: Path) -> str | None:
    """What is wrong with the batch at ``folder``, in one line; None when it can be scored."""
    labels_path = folder / "labels.json"
    try:
        labels = json.loads(labels_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return f"{labels_path}: cannot read: {exc}"
    if not isinstance(labels, dict) or not labels:
        return f"{labels_path}: expected an object of NAME: label"
    manifest = json.loads((REPO / "manifest.json").read_text(encoding="utf-8"))["concepts"]
    for name, label in labels.items():
        if not isinstance(label, dict) or label.get("concept") not in manifest:
            return f"{labels_path}: {name}: 'concept' must be a manifest concept"
        expect = label.get("expect")
        if not isinstance(expect, list) or any(
            not (isinstance(e, list) and len(e) == 2 and e[0] in CODES and isinstance(e[1], str)) for e in expect
        ):
            return f"{labels_path}: {name}: 'expect' must be a list of [code, word] with code in {', '.join(CODES)}"
        if not (folder / "texts" / f"{name}.txt").is_file():
            return f"{folder / 'texts' / (name + '.txt')}: missing"
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path)
    folder = parser.parse_args().folder
    problem = check_batch(folder)
    if problem is not None:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    with tempfile.TemporaryDirectory() as tmp:
        labels, result = run(Path(tmp), folder)
    print(f"blind batch {folder} scored with the rules at commit {commit or 'unknown'}")
    print(f"(severities: {', '.join(f'{c} {BY_CODE[c].severity}' for c in CODES)})\n")
    print("\n".join(table(labels, result)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
