"""Property tests: arbitrary text and bytes never crash the linter, and every finding points
at a real line and column of the file it names."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from toolkit.config import LintSettings
from toolkit.corpus import load_corpus
from toolkit.lint import lint_corpus

from conftest import MANIFEST

# Words that exercise the matchers, mixed with arbitrary characters.
VOCABULARY = st.sampled_from(
    "felt was so happy Nervous , . \n \n\n the patient kind of wave sadness filled with dread "
    "lonelier fury at ease self-conscious ’s 's she I Mara — \r\n \t \ufeff é 😀".split(" ")
)
TEXTS = st.one_of(st.text(max_size=300), st.lists(st.one_of(VOCABULARY, st.text(max_size=5)), max_size=60).map(" ".join))


def _check_positions(files: dict[str, str | bytes]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "corpus"
        for rel, content in files.items():
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
        shutil.copy(MANIFEST, root / "manifest.json")
        corpus = load_corpus(root, root / "manifest.json")
        result = lint_corpus(corpus, LintSettings(), use_cache=False)
        bodies = {
            t.path.resolve(): t.text if t.text is not None else t.raw.decode("utf-8", "replace") for t in corpus.texts()
        }
        for f in result.findings:
            path = (Path.cwd() / f.path).resolve()
            if path not in bodies:
                assert f.line == 1 and f.column == 1 and f.end_line is None  # a folder or the corpus
                continue
            lines = bodies[path].split("\n")
            assert 1 <= f.line <= len(lines), f
            assert 1 <= f.column <= len(lines[f.line - 1]) + 1, f
            if f.end_line is not None:
                assert f.end_column is not None
                assert f.line <= f.end_line <= len(lines), f
                assert 1 <= f.end_column <= len(lines[f.end_line - 1]) + 1, f
                assert (f.end_line, f.end_column) > (f.line, f.column), f
                if f.end_line == f.line:  # the span is the offending words themselves
                    words = lines[f.line - 1][f.column - 1 : f.end_column - 1]
                    assert words[0].isalpha() and words[-1].isalnum(), (f, words)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(story=TEXTS, baseline=TEXTS, variant=TEXTS)
def test_arbitrary_text_never_crashes_and_findings_point_at_real_positions(story, baseline, variant):
    _check_positions(
        {
            "stories/calm.txt": story,
            "stories/lonely/one.txt": story + variant,
            "paired/scene/baseline.txt": baseline,
            "paired/scene/furious.txt": variant,
        }
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(story=st.binary(max_size=300), variant=st.binary(max_size=300))
def test_arbitrary_bytes_never_crash_and_findings_point_at_real_positions(story, variant):
    _check_positions({"stories/calm.txt": story, "paired/scene/baseline.txt": story, "paired/scene/sad.txt": variant})
