"""The lint cache: warm runs skip the NLP (and its imports), partial changes stay correct."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from toolkit.config import LintSettings
from toolkit.corpus import load_corpus
from toolkit.lint import lint_corpus

STORY = (
    "The kettle clicked off and nobody moved to pour it. Steam crawled up the window and hung there "
    "while the radio read the shipping forecast to an empty room, Dogger and Fisher and German Bight, "
    "and the cat watched the door as if someone were about to come through it at any moment now."
)
OTHER = (
    "At the allotment gate Wen counted the bean poles twice, then a third time, because the number "
    "kept coming out odd. Somebody had taken one. She walked the rows with her hands in her coat "
    "pockets and looked at every neighbour's plot for a pole with green twine still knotted at the top."
)
BASELINE = (
    "Mara found the letter in the drawer under the spare keys. She turned it over, read the address "
    "in her brother's hand, and set it on the table by the window while the kettle boiled and the "
    "radio talked about rain moving in from the west later in the afternoon."
)
VARIANT = (
    "Mara found the letter in the drawer, under keys nobody had used in years. Her brother's handwriting "
    "on the front. She turned it over twice, put it face down on the table by the window, and stood "
    "there with her hand on it while the kettle rattled and the radio promised rain."
)

# Prints which heavy modules the process imported, after the CLI has exited.
PROBE = """
import atexit, sys
atexit.register(lambda: print("IMPORTED", sorted(m for m in ("spacy", "thinc", "torch", "numpy") if m in sys.modules), file=sys.stderr))
from toolkit.cli import main
sys.argv = ["amygdala", "lint", "--corpus", "corpus", "--format", "json"]
main()
"""


def run(root: Path, **options):
    corpus = load_corpus(root, root / "manifest.json")
    return lint_corpus(corpus, LintSettings(**options), cache_dir=root.parent / "cache")


def files(make_corpus):
    return make_corpus(
        {
            "stories/calm.txt": STORY,
            "stories/sad.txt": OTHER,
            "paired/letter/baseline.txt": BASELINE,
            "paired/letter/sad.txt": VARIANT,
        }
    )


def test_a_second_run_is_served_from_the_cache_with_the_same_findings(make_corpus):
    root = files(make_corpus)
    cold = run(root)
    warm = run(root)
    assert (cold.cached, warm.cached) == (0, 4)
    assert warm.findings == cold.findings and cold.findings
    stores = list((root.parent / "cache").glob("*.json"))
    assert len(stores) == 1 and json.loads(stores[0].read_text())["files"]


def test_a_fully_cached_cli_run_imports_neither_spacy_nor_torch(make_corpus):
    root = files(make_corpus)
    cwd = root.parent
    outputs = []
    for _ in range(2):
        proc = subprocess.run([sys.executable, "-c", PROBE], cwd=cwd, capture_output=True, text=True, timeout=300)
        assert proc.returncode in (0, 1), proc.stderr
        outputs.append((proc.stdout, proc.stderr.strip().splitlines()[-1]))
    (cold_out, cold_imports), (warm_out, warm_imports) = outputs
    assert "'spacy'" in cold_imports  # the probe can see an import when there is one
    assert warm_imports == "IMPORTED []"
    assert json.loads(warm_out) == json.loads(cold_out)
    assert (cwd / ".amygdala_cache" / "lint" / ".gitignore").is_file()


def test_cross_file_rules_follow_a_change_in_one_file(make_corpus):
    root = files(make_corpus)
    assert not [f for f in run(root).findings if f.code in ("DU001", "LN002")]
    # sad.txt becomes a copy of calm.txt: DU001 must name the (cached) calm.txt too.
    (root / "stories/sad.txt").write_text(STORY.replace("the cat", "the old cat"))
    result = run(root)
    assert result.cached == 3
    assert sorted(f.path for f in result.findings if f.code == "DU001") == ["corpus/stories/calm.txt", "corpus/stories/sad.txt"]
    # Deleting the copy clears the remembered pair.
    (root / "stories/sad.txt").unlink()
    assert not [f for f in run(root).findings if f.code == "DU001"]
    (root / "stories/sad.txt").write_text(OTHER)
    # The baseline doubles: the unchanged, cached variant is now too short.
    (root / "paired/letter/baseline.txt").write_text(BASELINE + " " + OTHER)
    result = run(root)
    assert [f.path for f in result.findings if f.code == "LN002"] == ["corpus/paired/letter/sad.txt"]


def test_options_and_manifest_are_part_of_the_key(make_corpus):
    root = files(make_corpus)
    assert [f.code for f in run(root).findings if f.code == "LN001"] == []
    assert len([f for f in run(root, story_words=(10, 20)).findings if f.code == "LN001"]) == 3
    manifest = json.loads((root / "manifest.json").read_text())
    manifest["concepts"]["calm"]["keywords"].append("kettle")
    (root / "manifest.json").write_text(json.dumps(manifest))
    assert [f.message.split()[0] for f in run(root).findings if f.code == "KW001"] == ["'kettle'"]


def test_no_cache_neither_reads_nor_writes_and_a_corrupt_store_is_ignored(make_corpus):
    root = files(make_corpus)
    corpus = load_corpus(root, root / "manifest.json")
    result = lint_corpus(corpus, LintSettings(), cache_dir=root.parent / "cache", use_cache=False)
    assert result.cached == 0 and not (root.parent / "cache").exists()
    run(root)
    (store,) = (root.parent / "cache").glob("*.json")
    store.write_text("{not json")
    again = run(root)
    assert again.cached == 0 and again.findings == result.findings
    assert run(root).cached == 4


def test_cache_entries_are_named_fields_and_an_entry_of_another_layout_is_recomputed(make_corpus):
    root = files(make_corpus)
    (root / "stories" / "calm.txt").write_text(STORY.replace("nobody moved", "she felt calm and nobody moved"))  # a KW001 hit
    cold = run(root)
    (store,) = (root.parent / "cache").glob("*.json")
    data = json.loads(store.read_text())
    entries = list(data["files"].values())
    assert all({"hits", "words", "bands"} <= set(e) for e in entries)
    assert sum("lemmas" in e for e in entries) == 2 and sum("leaned" in e for e in entries) == 1  # the paired texts, the baseline
    rows = [row for e in entries for row in e["hits"]]
    assert rows and all(set(row) == {"code", "line", "column", "end_line", "end_column", "message", "related"} for row in rows)
    # an entry written in the old positional layout is not trusted: the store is dropped and rebuilt
    first = next(iter(data["files"]))
    data["files"][first] = {"f": [["KW001", 1, 1, None, None, "x", []]], "w": 3, "b": ""}
    store.write_text(json.dumps(data))
    again = run(root)
    assert again.cached == 0 and again.findings == cold.findings


def test_a_hit_survives_its_cache_row():
    from toolkit.lint.model import Hit

    hit = Hit("AN002", "paired/letter/baseline.txt", "leans on 'Mara'", 2, 5, 2, 9, ("paired/letter/sad.txt",))
    assert Hit.from_row(hit.rel, json.loads(json.dumps(hit.to_row()))) == hit
