"""Precision and recall of the KW rules on a labelled set of original trap texts.

``tests/lint_labelled/texts/NNN.txt`` are short texts written for this test (clean texts
that look dangerous and violating texts that look clean); ``labels.json`` gives each its
concept, the trap it sets and the findings it must get as ``[code, word]``. A finding
matches an expected one with the same code whose word lies inside the finding's span
("felt nervous" matches ``["KW002", "nervous"]``); each expected finding is matched once.

Run as a script to print the table published in docs/lint-accuracy.md:
``python tests/test_lint_accuracy.py``.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if __name__ == "__main__":
    sys.path.insert(0, str(REPO))

from toolkit.config import LintSettings  # noqa: E402
from toolkit.corpus import load_corpus  # noqa: E402
from toolkit.lint import BY_CODE, lint_corpus  # noqa: E402

LABELLED = Path(__file__).resolve().parent / "lint_labelled"
CODES = ("KW001", "KW002", "KW003")
TARGET = 0.95


@dataclass
class Score:
    """What was found, and per rule: true positives, false positives (found, not expected), misses."""

    found: dict[str, list[tuple[str, str]]]
    tp: Counter = field(default_factory=Counter)
    fp: Counter = field(default_factory=Counter)
    fn: Counter = field(default_factory=Counter)
    mistakes: list[str] = field(default_factory=list)

    def totals(self, codes: tuple[str, ...]) -> tuple[int, int, int]:
        return sum(self.tp[c] for c in codes), sum(self.fp[c] for c in codes), sum(self.fn[c] for c in codes)

    def precision_recall(self, codes: tuple[str, ...]) -> tuple[float, float]:
        tp, fp, fn = self.totals(codes)
        return tp / (tp + fp) if tp + fp else 1.0, tp / (tp + fn) if tp + fn else 1.0


def wilson(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The 95% Wilson score interval of a proportion (sensible at 0 or n successes)."""
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * ((p * (1 - p) / n + z * z / (4 * n * n)) ** 0.5) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def labelled_set(folder: Path = LABELLED) -> dict[str, dict]:
    return json.loads((folder / "labels.json").read_text(encoding="utf-8"))


def found_spans(root: Path) -> dict[str, list[tuple[str, str]]]:
    """Lint the corpus at ``root`` and return each text's findings as ``(code, spanned words)``."""
    corpus = load_corpus(root, root / "manifest.json")
    result = lint_corpus(corpus, LintSettings(select=list(CODES)), use_cache=False)
    out: dict[str, list[tuple[str, str]]] = {}
    for finding in result.findings:
        name = Path(finding.path).stem
        text = next((root / "stories").glob(f"*/{name}.txt")).read_text(encoding="utf-8")
        line_starts = [0] + [i + 1 for i, char in enumerate(text) if char == "\n"]
        begin = line_starts[finding.line - 1] + finding.column - 1
        end = line_starts[(finding.end_line or finding.line) - 1] + (finding.end_column or 1) - 1
        # A span may cross a hard line wrap: its words are joined with one space.
        out.setdefault(name, []).append((finding.code, " ".join(text[begin:end].split())))
    return out


def score(labels: dict[str, dict], found: dict[str, list[tuple[str, str]]]) -> Score:
    result = Score(found)
    for name, label in sorted(labels.items()):
        expected = [tuple(e) for e in label["expect"]]
        for code, span in found.get(name, []):
            match = next((e for e in expected if e[0] == code and e[1].lower() in span.lower()), None)
            if match is None:
                result.fp[code] += 1
                result.mistakes.append(f"{name} ({label['concept']}) false {code} {span!r}: {label.get('trap', '')}")
            else:
                expected.remove(match)
                result.tp[code] += 1
        for code, word in expected:
            result.fn[code] += 1
            result.mistakes.append(f"{name} ({label['concept']}) missed {code} {word!r}: {label.get('trap', '')}")
    return result


def run(tmp: Path, folder: Path = LABELLED) -> tuple[dict[str, dict], Score]:
    """Build a corpus of the labelled texts of ``folder`` under ``tmp`` (stories/<concept>/NNN.txt) and score it."""
    labels = labelled_set(folder)
    root = tmp / "corpus"
    (root / "stories").mkdir(parents=True)
    shutil.copy(REPO / "manifest.json", root / "manifest.json")
    for name, label in labels.items():
        target = root / "stories" / label["concept"]
        target.mkdir(exist_ok=True)
        shutil.copy(folder / "texts" / f"{name}.txt", target / f"{name}.txt")
    return labels, score(labels, found_spans(root))


def test_labelled_set_is_large_and_has_both_clean_and_violating_texts():
    labels = labelled_set()
    assert len(labels) >= 60
    clean = [n for n, lab in labels.items() if not any(BY_CODE[c].severity == "error" for c, _ in lab["expect"])]
    assert 20 <= len(clean) <= len(labels) - 20
    assert all((LABELLED / "texts" / f"{name}.txt").is_file() for name in labels)


def test_error_precision_and_recall_on_the_labelled_set(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _, result = run(tmp_path)
    errors = tuple(c for c in CODES if BY_CODE[c].severity == "error")
    precision, recall = result.precision_recall(errors)
    assert (precision, recall) >= (TARGET, TARGET) and min(precision, recall) >= TARGET, "\n".join(result.mistakes)


def test_wilson_interval_matches_known_values():
    low, high = wilson(93, 95)
    assert (round(low, 3), round(high, 3)) == (0.926, 0.994)
    assert wilson(0, 10)[0] == 0.0 and wilson(10, 10)[1] == 1.0


def test_the_scorer_counts_misses_and_false_findings():
    labels = {"001": {"concept": "tired", "trap": "t", "batch": "b", "expect": [["KW002", "nervous"], ["KW001", "weary"]]}}
    result = score(labels, {"001": [("KW002", "felt nervous"), ("KW003", "Kind")]})
    assert (result.tp["KW002"], result.fn["KW001"], result.fp["KW003"]) == (1, 1, 1)
    assert result.precision_recall(("KW001", "KW002")) == (1.0, 0.5)


ALL_KW = "all KW (KW001-KW003)"


def test_the_blind_scorer_scores_a_batch_and_refuses_a_malformed_one(tmp_path):
    import subprocess

    batch = tmp_path / "batch"
    (batch / "texts").mkdir(parents=True)
    (batch / "texts" / "a.txt").write_text("She felt nervous at the gate.\n", encoding="utf-8")
    (batch / "texts" / "b.txt").write_text("The patient in bed four slept.\n", encoding="utf-8")
    labels = {"a": {"concept": "tired", "expect": [["KW002", "nervous"]]}, "b": {"concept": "tired", "expect": [["KW002", "slept"]]}}
    (batch / "labels.json").write_text(json.dumps(labels), encoding="utf-8")
    script = [sys.executable, str(REPO / "bench" / "lint_blind.py"), str(batch)]
    done = subprocess.run(script, capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "| errors (KW001+KW002) | error | 2 | 1 | 1 | 0 | 1 |" in done.stdout
    assert "b (tired) missed KW002 'slept'" in done.stdout
    labels["b"]["concept"] = "not_a_concept"
    (batch / "labels.json").write_text(json.dumps(labels), encoding="utf-8")
    bad = subprocess.run(script, capture_output=True, text=True, cwd=tmp_path)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "b: 'concept'" in bad.stderr


def table(labels: dict[str, dict], result: Score) -> list[str]:
    errors = tuple(c for c in CODES if BY_CODE[c].severity == "error")
    clean = sum(1 for lab in labels.values() if not lab["expect"])
    lines = [
        f"{len(labels)} texts ({clean} with no expected finding)",
        "",
        "| rule | severity | expected | found | true pos. | false pos. | missed | precision [95% CI] | recall [95% CI] |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    rows = [(c, (c,)) for c in CODES] + [("errors (KW001+KW002)", errors), (ALL_KW, CODES)]
    for name, codes in rows:
        tp, fp, fn = result.totals(codes)
        precision, recall = result.precision_recall(codes)
        (p_low, p_high), (r_low, r_high) = wilson(tp, tp + fp), wilson(tp, tp + fn)
        severity = BY_CODE[name].severity if name in BY_CODE else ("error" if codes == errors else "any")
        lines.append(
            f"| {name} | {severity} | {tp + fn} | {tp + fp} | {tp} | {fp} | {fn} "
            f"| {precision:.3f} [{p_low:.2f}, {p_high:.2f}] | {recall:.3f} [{r_low:.2f}, {r_high:.2f}] |"
        )
    return lines + [""] + [f"- {mistake}" for mistake in result.mistakes]


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        labels, result = run(Path(tmp))
    print("## All texts\n")
    print("\n".join(table(labels, result)))
    for batch in sorted({lab["batch"] for lab in labels.values()}):
        part = {name: lab for name, lab in labels.items() if lab["batch"] == batch}
        found = {name: spans for name, spans in result.found.items() if name in part}
        print(f"\n## Batch {batch}\n")
        print("\n".join(table(part, score(part, found))))


if __name__ == "__main__":
    main()


BLIND1 = REPO / "tests" / "lint_blind" / "blind1"


def test_the_first_blind_batch_scores_no_worse_than_when_it_was_scored_once(tmp_path, monkeypatch):
    """Blind batch 1 was scored once at the frozen rules (5534aea): errors 31/31 found right and 31 of
    33 found; all KW 41 of 43. Later changes may find more of it, never less, and never a false finding."""
    monkeypatch.chdir(tmp_path)
    labels, result = run(tmp_path, BLIND1)
    assert len(labels) == 80
    errors = tuple(c for c in CODES if BY_CODE[c].severity == "error")
    tp, fp, fn = result.totals(errors)
    assert fp == 0 and tp >= 31
    tp, fp, fn = result.totals(CODES)
    assert fp == 0 and tp >= 41
