"""`amygdala stats`: lengths, readability, narrator person, shared vocabulary and the flags."""

from __future__ import annotations

import json
import subprocess
import sys

import jsonschema
import pytest
import textstat
from typer.testing import CliRunner

from schemas.export import SCHEMA_DIR
from toolkit.cli import app
from toolkit.config import load_config
from toolkit.corpus import open_corpus
from toolkit.stats import content_lemmas, corpus_stats, narrator_person, pronoun_counts

from conftest import BUNDLED_CORPUS, MANIFEST, REPO

# Wide enough that rich never wraps: an error must stay one line.
runner = CliRunner(env={"COLUMNS": "1000"})
SCHEMA = json.loads((SCHEMA_DIR / "stats-report.schema.json").read_text())

FIRST = "I locked the shed and walked my bike down the lane, and I heard the river before I saw it."
SECOND = "You lock the shed and walk your bike down the lane, and you hear the river before you see it."
THIRD = "She locked the shed and walked her bike down the lane, and she heard the river before she saw it."

# Three clusters with two concepts each.
MANIFEST_3 = {
    "version": 1,
    "clusters": {"warm": {"title": "Warm"}, "cold": {"title": "Cold"}, "odd": {"title": "Odd"}},
    "concepts": {
        "calm": {"cluster": "warm", "valence": "positive", "keywords": ["calm"]},
        "glad": {"cluster": "warm", "valence": "positive", "keywords": ["glad"]},
        "sore": {"cluster": "cold", "valence": "negative", "keywords": ["sore"]},
        "grim": {"cluster": "cold", "valence": "negative", "keywords": ["grim"]},
        "wry": {"cluster": "odd", "valence": "neutral", "keywords": ["wry"]},
        "dazed": {"cluster": "odd", "valence": "neutral", "keywords": ["dazed"]},
    },
}


def corpus3(make_corpus, files):
    return make_corpus({"manifest.json": json.dumps(MANIFEST_3), **files})


def stats_json(root, *args):
    result = runner.invoke(app, ["stats", "--corpus", str(root), "--format", "json", *args])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    jsonschema.validate(data, SCHEMA)
    return data


def test_pronouns_inside_quoted_dialogue_do_not_set_the_narrator():
    text = 'He set the box down. “I told you I would bring my own,” she said. "We never listen," he said, and shrugged.'
    assert pronoun_counts(text) == {"first": 0, "second": 0, "third": 3}
    assert narrator_person(pronoun_counts(text)) == "third"
    assert narrator_person(pronoun_counts("‘I’m not going,’ she said, and I’m the one who went. My feet ached.")) == "first"


@pytest.mark.parametrize(
    ("text", "person"),
    [
        (FIRST, "first"),
        (SECOND, "second"),
        (THIRD, "third"),
        ("The bell rang twice across the empty yard.", "third"),
        # one stray "I" of free indirect thought leaves a third-person text third person
        ("Marta counted the coins again. I am not short, she thought. She was short.", "third"),
        ("We took the night ferry; us and the dog and our two bags.", "first"),
    ],
)
def test_narrator_person(text, person):
    assert narrator_person(pronoun_counts(text)) == person


def test_content_lemmas_fold_inflections_and_drop_function_words():
    assert content_lemmas("The kitchens were cold; Rafael's hands shook, and he didn't move.") == {
        "kitchen", "cold", "rafael", "hand", "shake", "move",
    }


def test_lengths_readability_and_narrator_balance_per_cluster(make_corpus):
    root = corpus3(
        make_corpus,
        {
            "stories/calm.txt": FIRST,
            "stories/glad.txt": SECOND,
            "stories/sore.txt": THIRD + " " + THIRD,
            "paired/shed/baseline.txt": THIRD,
            "paired/shed/grim.txt": THIRD,
            "paired/shed/wry.txt": FIRST,
            "stories/dazed.txt": b"\xff\xfe not utf-8",
        },
    )
    data = stats_json(root)
    assert data["skipped"] == ["stories/dazed.txt"]
    assert data["words"] == {"texts": 6, "min": 20, "median": 20.0, "max": 40}
    warm = data["clusters"][0]
    assert warm["words"] == {"texts": 2, "min": 20, "median": 20.0, "max": 20}
    assert warm["readability"]["reading_ease"] == pytest.approx(
        (textstat.flesch_reading_ease(FIRST) + textstat.flesch_reading_ease(SECOND)) / 2, abs=0.01
    )
    assert warm["readability"]["words_per_sentence"] == pytest.approx(20.0)
    assert warm["narrator"] == {"first": 1, "second": 1, "third": 0, "dominant": "first", "dominant_share": 0.5}
    # the scenario is one telling, narrated in the third person by its majority
    assert data["narrator"] == {"first": 1, "second": 1, "third": 2, "dominant": "third", "dominant_share": 0.5}
    odd = data["clusters"][2]
    assert odd["narrator"]["third"] == 1 and odd["words"]["texts"] == 1
    texts = {t["path"]: t for t in data["texts"]}
    assert texts["paired/shed/wry.txt"]["narrator"] == "first"
    assert texts["paired/shed/wry.txt"]["cluster"] == "odd"
    assert texts["paired/shed/baseline.txt"]["cluster"] is None


def test_one_narrator_voice_is_flagged_over_the_corpus_and_in_a_cluster(make_corpus):
    files = {f"stories/{c}/{i}.txt": FIRST.replace("shed", f"shed {i}") for c in ("calm", "glad") for i in range(3)}
    files["stories/sore.txt"] = THIRD
    files["stories/grim.txt"] = SECOND
    root = corpus3(make_corpus, files)
    flags = stats_json(root)["flags"]
    narrator = [(f["scope"], f["subject"]) for f in flags if f["kind"] == "narrator_dominant"]
    # 6 of 8 tellings in the first person (75%), and all 6 of the warm cluster's; cold has too few to judge
    assert narrator == [("corpus", "corpus"), ("cluster", "warm")]
    flags = stats_json(root, "--narrator-max", "0.8")["flags"]
    assert [(f["scope"], f["subject"]) for f in flags if f["kind"] == "narrator_dominant"] == [("cluster", "warm")]


def test_a_concept_known_from_one_scenario_is_flagged(make_corpus):
    root = corpus3(
        make_corpus,
        {"stories/calm.txt": FIRST, "paired/shed/baseline.txt": THIRD, "paired/shed/sore.txt": THIRD, "paired/shed/calm.txt": THIRD},
    )
    flags = [f for f in stats_json(root)["flags"] if f["kind"] == "scene_bound"]
    assert [(f["subject"], f["paths"]) for f in flags] == [("sore", ["paired/shed/sore.txt"])]


def test_a_setting_that_travels_with_a_concept_is_flagged(make_corpus):
    harbour = [
        "The harbour lights came on one by one while he coiled the rope on the quay.",
        "At the harbour wall a boy dangled his legs and counted the trawlers coming in.",
        "She bought chips at the harbour kiosk and ate them leaning on a cold bollard.",
    ]
    elsewhere = [
        "The library closed at six, and the caretaker rattled his keys along the stacks.",
        "Snow had drifted against the bus shelter, and the timetable was frozen over.",
        "In the orchard the ladder leaned against the oldest tree, its rungs green with moss.",
        "The laundrette smelled of warm lint, and the machines turned in slow rows.",
        "A tractor idled at the gate while the farmer argued with a sheep.",
        "At the station the board flickered and the last train showed as delayed.",
    ]
    files = {f"stories/calm/{i}.txt": text for i, text in enumerate(harbour)}
    files.update({f"stories/{c}/{i}.txt": elsewhere[2 * k + i] for k, c in enumerate(("sore", "grim", "wry")) for i in range(2)})
    root = corpus3(make_corpus, files)
    report = corpus_stats(open_corpus(load_config(), root), setting_max_corpus_share=0.35)
    (flag,) = [f for f in report.flags if f.kind == "setting_word"]
    assert flag.subject == "calm" and "'harbour' (3/3)" in flag.message
    assert flag.paths == ["stories/calm/0.txt", "stories/calm/1.txt", "stories/calm/2.txt"]
    # the same word spread over the corpus is no setting of one concept
    for i in range(2):
        (root / "stories" / "sore" / f"{i}.txt").write_text(elsewhere[i] + " Past the harbour, gulls.")
    report = corpus_stats(open_corpus(load_config(), root), setting_max_corpus_share=0.35)
    assert not [f for f in report.flags if f.kind == "setting_word"]


def test_a_concept_whose_stories_share_a_narrator_or_a_setting_is_flagged(make_corpus):
    files = {
        "stories/calm/ferry.txt": "I stood at the ferry rail and let the spray dry on my wrists.",
        "stories/calm/orchard.txt": "I leaned my ladder on the pear tree and listened to the bees.",
        "stories/glad/ferry.txt": "She waved from the ferry until the pier was a grey line.",
        "stories/glad/kiln.txt": "You open your kiln and every bowl has come out whole.",
        "stories/sore/one.txt": THIRD,
    }
    root = corpus3(make_corpus, files)
    flags = {(f["kind"], f["subject"]): f for f in stats_json(root)["flags"] if f["kind"].startswith("concept_")}
    assert set(flags) == {("concept_narrator", "calm")}
    assert "all 2 stories of calm are told in the first person" in flags["concept_narrator", "calm"]["message"]
    (root / "stories/glad/kiln.txt").write_text("You board the ferry at dawn and count the gulls on your rail.")
    flags = {(f["kind"], f["subject"]): f for f in stats_json(root)["flags"] if f["kind"].startswith("concept_")}
    assert set(flags) == {("concept_narrator", "calm"), ("concept_setting", "glad")}
    setting = flags["concept_setting", "glad"]
    assert "'ferry' (2/2)" in setting["message"] and setting["paths"] == ["stories/glad/ferry.txt", "stories/glad/kiln.txt"]
    # a ferry in one story of calm and one of glad is no shared setting of either concept
    assert ("concept_setting", "calm") not in flags


def test_shared_vocabulary_counts_stories_across_clusters(make_corpus):
    root = corpus3(
        make_corpus,
        {
            "stories/calm.txt": "The kitchen clock ticked over the sink.",
            "stories/sore.txt": "Two kitchens, one clock, and nobody home.",
            "stories/wry.txt": "The kitchen smelled of toast.",
            "stories/glad.txt": "A clock in the hall.",
            # variants share their scenario's words on purpose and are not counted
            "paired/p/baseline.txt": "The toast burned.",
            "paired/p/grim.txt": "The toast burned again.",
            "paired/p/dazed.txt": "The toast burned, somehow.",
        },
    )
    data = stats_json(root, "--shared-min-clusters", "2")
    shared = {w["word"]: (w["clusters"], w["stories"]) for w in data["shared_vocabulary"]}
    assert shared == {"kitchen": (["cold", "odd", "warm"], 3), "clock": (["cold", "warm"], 3)}
    assert data["thresholds"]["shared_min_clusters"] == 2
    # the default asks for more than half of the clusters with stories: 2 of 3
    assert stats_json(root)["thresholds"]["shared_min_clusters"] == 2


def test_table_output(make_corpus):
    root = corpus3(make_corpus, {"stories/calm.txt": FIRST, "stories/sore.txt": THIRD})
    result = runner.invoke(app, ["stats", "--corpus", str(root)])
    assert result.exit_code == 0
    assert "2 texts; words min/median/max 20/20/20" in result.stdout
    assert "Warm" in result.stdout and "1/0/0" in result.stdout


def test_stats_imports_neither_spacy_nor_textstat_until_it_runs():
    code = (
        "import sys; import toolkit.cli; assert 'textstat' not in sys.modules; "
        "from typer.testing import CliRunner; "
        f"r = CliRunner().invoke(toolkit.cli.app, ['stats', '--corpus', {str(BUNDLED_CORPUS)!r}, '--manifest', {str(MANIFEST)!r}]); "
        "assert r.exit_code == 0, r.output; assert 'textstat' in sys.modules; assert 'spacy' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)


def test_bundled_corpus_stats_validate():
    data = stats_json(BUNDLED_CORPUS, "--manifest", str(MANIFEST))
    assert data["words"]["texts"] >= 171
    assert {c["cluster"] for c in data["clusters"]} >= {"hostile_anger", "cognitive"}
