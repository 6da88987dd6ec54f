"""Every lint rule's positive and negative cases, on real files in temporary corpora."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from toolkit.config import LintSettings
from toolkit.corpus import load_corpus
from toolkit.lint import RULES, lint_corpus
from toolkit.lint.lexicon import derivations, derive, spelling_groups


def lint(root: Path, select: list[str], paths: list[Path] | None = None, **options):
    corpus = load_corpus(root, root / "manifest.json")
    return lint_corpus(corpus, LintSettings(select=select, **options), paths=paths, use_cache=False)


def words(n: int, seed: str = "w") -> str:
    """``n`` distinct filler words that name no emotion and share no bigram with other seeds."""
    return " ".join(f"{seed}{i}" for i in range(n))


def spans(result, root: Path, code: str) -> list[str]:
    """The exact text each finding of ``code`` points at (by line, column and end column)."""
    out = []
    for f in result.findings:
        if f.code != code:
            continue
        body = (root.parent / f.path).read_text(encoding="utf-8")
        line = body.split("\n")[f.line - 1]
        assert f.end_line == f.line
        out.append(line[f.column - 1 : f.end_column - 1])
    return out


def codes(result) -> list[str]:
    return [f.code for f in result.findings]


# --- KW001: the text's own emotion ------------------------------------------------------------


@pytest.mark.parametrize(
    ("rel", "text", "leak"),
    [
        ("stories/furious.txt", "He read the ticket and the fury came up through his chest.", "fury"),
        ("stories/grateful.txt", "She wrote the card slowly, her gratitude in every loop of the pen.", "gratitude"),
        ("stories/lonely.txt", "The flat was lonelier after the cat went to the neighbours.", "lonelier"),
        ("stories/lonely.txt", "Lonelier than the week before, he ate standing at the counter.", "Lonelier"),
        ("stories/angry.txt", "She raged at the printer until it jammed again.", "raged"),
        ("stories/at_ease.txt", "He sat at ease on the bench with his shoes off.", "at ease"),
        ("stories/self_conscious.txt", "Self-conscious, she tugged the hem down.", "Self-conscious"),
        ("paired/the_comment/furious.txt", "The comment was short and he read it furiously twice.", "furiously"),
    ],
)
def test_kw001_finds_the_own_emotion_through_inflection_and_derivation(make_corpus, rel, text, leak):
    root = make_corpus({rel: text})
    assert spans(lint(root, ["KW001"]), root, "KW001") == [leak]


def test_kw001_ignores_other_senses_of_lemmas_and_other_concepts(make_corpus):
    root = make_corpus(
        {
            # "shaken" is listed as is; its lemma "shake" must not make "shook" a leak.
            "stories/shaken.txt": "His hands shook as he set the mug down on the counter.",
            "stories/furious.txt": "He read the pawn ticket twice and did not blink.",
            # "stuck" is in the family; "sticks" (lemma "stick") is not.
            "stories/stuck.txt": "The kids threw sticks for the dog until it got dark.",
        }
    )
    assert lint(root, ["KW001"]).findings == []


def test_derivations_follow_english_spelling_rules():
    assert {"fearful", "fearless", "fearlessly", "fearlessness"} <= derivations("fear")
    assert {"warily", "wariness"} <= derivations("wary")
    assert {"merciful", "merciless"} <= derivations("mercy")
    assert {"shyly", "shyness"} <= derivations("shy")
    assert "irritably" in derivations("irritable") and "tragically" in derivations("tragic")
    assert "lovely" not in derivations("love")  # another word, not a form of love
    assert not {"furiousful", "angrily"} & derivations("furious")


def test_derive_keeps_dictionary_words_and_adds_spelling_variants():
    spellings = spelling_groups({"galvanised": "galvanized", "Galvanised": "galvanized", "lovin'": "loving"})
    derived = derive({"fear", "galvanized", "at ease"}, spellings, vocabulary={"fearless", "fearlessly"})
    assert derived == {
        "fearless": frozenset({"fear"}),
        "fearlessly": frozenset({"fear"}),
        "galvanised": frozenset({"galvanized"}),
    }


@pytest.mark.parametrize(
    ("rel", "text", "leak"),
    [
        ("stories/suspicious.txt", "The cat circled the new box warily.", "warily"),
        ("stories/afraid.txt", "The boy stood fearless at the edge of the quarry.", "fearless"),
        ("stories/stimulated.txt", "The cold shower galvanised her.", "galvanised"),
        ("stories/furious.txt", "The men came out rage-filled and red in the face.", "rage-filled"),
        ("stories/self_conscious.txt", "His shyness came out as jokes.", "shyness"),
        ("stories/hope.txt", "It was hopeless: the phone was dead.", "hopeless"),
    ],
)
def test_kw001_finds_forms_derived_from_the_family(make_corpus, rel, text, leak):
    root = make_corpus({rel: text})
    assert spans(lint(root, ["KW001"]), root, "KW001") == [leak]


def test_kw001_and_kw002_never_report_the_same_span(make_corpus):
    root = make_corpus(
        {
            "stories/furious.txt": "She felt furious at the queue.",
            "stories/nervous.txt": "A flicker of nervousness crossed his face.",
        }
    )
    assert sorted((f.code, f.path.rsplit("/", 1)[-1]) for f in lint(root, ["KW001", "KW002"]).findings) == [
        ("KW001", "furious.txt"),
        ("KW001", "nervous.txt"),
    ]


# --- KW002: explicit labels -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("At the door she felt nervous and checked her keys.", "felt nervous"),
        ("When the letter came I was so happy I sat on the stairs.", "was so happy"),
        ("A wave of sadness came over the kitchen.", "wave of sadness"),
        ("He stood there, filled with dread, by the car.", "filled with dread"),
        ("Feeling anxious, he counted the stairs.", "Feeling anxious"),
        ("Mara had been a little nervous all week.", "been a little nervous"),
        ("She's upset about the car.", "She's upset"),
        ("The call left him shaken for an hour.", "left him shaken"),
        ("He felt at ease for once.", "felt at ease"),
    ],
)
def test_kw002_finds_label_constructions(make_corpus, text, label):
    root = make_corpus({"stories/bored.txt": text})
    assert spans(lint(root, ["KW002"]), root, "KW002") == [label]


def test_kw002_leaves_non_labels_alone(make_corpus):
    root = make_corpus(
        {
            "stories/bored.txt": (
                "The water was calm. She felt the cold tile under her feet. It was a kind of wrench. "
                "The zipper was stuck. He felt for the switch. It was safe to cross. "
                "We were stuck in traffic for an hour. He was hurt in the fall. They were safe inside by nine."
            )
        }
    )
    assert lint(root, ["KW002"]).findings == []


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("Fear gripped her as the lights went out.", "Fear"),
        ("Anger flared in him at the counter.", "Anger"),
        ("A cold dread settled over him on the stairs.", "A cold dread"),
        ("Terror gripped the village after the fire.", "Terror"),
        ("Her jealousy was a small hard thing.", "Her jealousy"),
        ("Her mother was furious about the dent.", "was furious"),
        ("The crowd at the gate was restless by nine.", "was restless"),
        ("The boy who was nervous hid behind the curtain.", "was nervous"),
        ("Everyone was hurt by what he said.", "was hurt"),
        ("The clerk stamped the forms with grim satisfaction.", "with grim satisfaction"),
        ("The whole village was in mourning.", "was in mourning"),
        ("The caretaker was sour about the window.", "was sour"),
        ("A wave of fear spread through the hall.", "wave of fear"),  # "spread" is a verb here
    ],
)
def test_kw002_finds_emotion_subjects_and_person_subjects(make_corpus, text, label):
    root = make_corpus({"stories/bored.txt": text})
    assert spans(lint(root, ["KW002"]), root, "KW002") == [label]


@pytest.mark.parametrize(
    "text",
    [
        "The trays were full of bitter greens and the ward was full of patients.",
        "The room was filled with calm blue light.",
        "A wave of patients came through the doors.",
        "Nobody was hurt, and the driver handed out biscuits.",
        "No one was hurt when the ferry nudged the pier.",
        "The evening felt calmer once the wind dropped.",
        "The night was darker, and the sea was calmer than in March.",
        "Monday was calm too.",
        "Joy grabbed her coat and ran for the tram.",
        "She looked wistfully at the gates.",
        "They were relieved of their duties at noon.",
        "She lifted the crate with ease.",
        "The mailbag was full of hate mail.",
    ],
)
def test_kw002_leaves_frames_without_their_meaning_alone(make_corpus, text):
    root = make_corpus({"stories/bored.txt": text})
    assert spans(lint(root, ["KW002"]), root, "KW002") == []


# --- KW003: another concept's name as an emotion word --------------------------------------------


def test_kw003_skips_the_homograph_traps(make_corpus):
    root = make_corpus(
        {
            "stories/tired.txt": (
                "The patient in bed four asked for water. She held a kind of wrench. "
                "He read the content of the email twice. The wall safe was open. "
                "A calendar alert went off. She fought a stuck zipper."
            )
        }
    )
    assert lint(root, ["KW003"]).findings == []


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("Nervous, she set the jar on his step.", "Nervous"),
        ("He gave a nervous laugh and looked at the floor.", "nervous"),
        ("She was waiting by the door, patient.", "patient"),
        ("He was too patient to interrupt.", None),  # a copula with a subject: KW002, not KW003
        ("His kind smile stayed on the photo.", "kind"),
        ("She stood too angry to speak at the back.", "angry"),
    ],
)
def test_kw003_fires_in_emotion_position(make_corpus, text, word):
    root = make_corpus({"stories/tired.txt": text})
    assert spans(lint(root, ["KW003"]), root, "KW003") == ([word] if word else [])


@pytest.mark.parametrize(
    "text",
    [
        '"Patient!" Ana called, and the dog came back.',
        '"Content?" the editor asked.',
        "Hope, come here and hold this.",
        "The lemonade was too sour and the tea too bitter.",
        "The skin on his heel was too sensitive for the new boots.",
    ],
)
def test_kw003_skips_calls_names_lines_and_tastes(make_corpus, text):
    root = make_corpus({"stories/tired.txt": text})
    assert spans(lint(root, ["KW003"]), root, "KW003") == []


def test_kw003_leaves_the_own_family_to_kw001_and_names_to_people(make_corpus):
    root = make_corpus(
        {
            "stories/irate.txt": "Angry, he slammed the drawer.",  # "angry" is in irate's family
            "stories/tired.txt": "They named the baby Hope, and she slept.",
        }
    )
    assert lint(root, ["KW003"]).findings == []


# --- ST rules ---------------------------------------------------------------------------------


def test_st001_points_at_the_first_invalid_byte(make_corpus):
    root = make_corpus({"stories/calm.txt": b"line one\nCaf\xe9 au lait"})
    (finding,) = lint(root, ["ST"]).findings
    assert (finding.code, finding.line, finding.column) == ("ST001", 2, 4)


def test_st002_empty_and_whitespace_only(make_corpus):
    root = make_corpus({"stories/calm.txt": "", "stories/sad.txt": "  \n\t\n", "stories/happy.txt": "Fine."})
    result = lint(root, ["ST002"])
    assert [(Path(f.path).name, f.line, f.column) for f in result.findings] == [("calm.txt", 1, 1), ("sad.txt", 1, 1)]


def test_st003_second_paragraph_but_not_hard_wrapping(make_corpus):
    root = make_corpus(
        {
            "stories/calm.txt": "One line\nwrapped here.\n\n  Second paragraph.\n\n",
            "stories/sad.txt": "\n\nOne paragraph,\nhard-wrapped.\n\n",
        }
    )
    (finding,) = lint(root, ["ST003"]).findings
    assert (Path(finding.path).name, finding.line, finding.column) == ("calm.txt", 4, 3)


def test_st004_suggests_the_closest_concept(make_corpus):
    root = make_corpus(
        {
            "stories/fury.txt": "x",
            "stories/happpy.txt": "x",
            "stories/zzzz/one.txt": "x",
            "stories/zzzz/two.txt": "x",
            "paired/scene/baseline.txt": "x",
            "paired/scene/joyfull.txt": "x",
        }
    )
    result = lint(root, ["ST004"])
    by_path = {f.path: f.message for f in result.findings}
    assert set(by_path) == {
        "corpus/stories/fury.txt",
        "corpus/stories/happpy.txt",
        "corpus/stories/zzzz",
        "corpus/paired/scene/joyfull.txt",
    }
    assert "did you mean 'enraged' or 'furious'?" in by_path["corpus/stories/fury.txt"]
    assert "did you mean 'happy'?" in by_path["corpus/stories/happpy.txt"]
    assert "did you mean 'joyful'?" in by_path["corpus/paired/scene/joyfull.txt"]


def test_st005_scenario_folder_without_baseline(make_corpus):
    root = make_corpus({"paired/no_base/sad.txt": "x", "paired/ok/baseline.txt": "x", "paired/ok/sad.txt": "x"})
    (finding,) = lint(root, ["ST005"]).findings
    assert finding.path == "corpus/paired/no_base"


def test_st006_slugs_for_files_and_folders(make_corpus):
    root = make_corpus(
        {
            "stories/On-Edge.txt": "x",
            "stories/calm/01_night_bus.txt": "x",
            "stories/calm/Night Bus.txt": "x",
            "paired/The Green Build/baseline.txt": "x",
            "paired/ok_scene/sad.txt": "x",
        }
    )
    paths = sorted(f.path for f in lint(root, ["ST006"]).findings)
    assert paths == ["corpus/paired/The Green Build", "corpus/stories/On-Edge.txt", "corpus/stories/calm/Night Bus.txt"]


def test_st007_unexpected_entries_but_not_hidden_files(make_corpus):
    root = make_corpus({"stories/calm.md": "x", "stories/.DS_Store": "x", "paired/s/drafts/sad.txt": "x"})
    assert sorted(f.path for f in lint(root, ["ST007"]).findings) == ["corpus/paired/s/drafts", "corpus/stories/calm.md"]


# --- LN rules ---------------------------------------------------------------------------------


def test_ln001_story_and_baseline_length_but_not_variants(make_corpus):
    root = make_corpus(
        {
            "stories/calm.txt": words(39, "a"),
            "stories/sad.txt": words(40, "b"),
            "stories/happy.txt": words(121, "c"),
            "paired/s/baseline.txt": words(20, "d"),
            "paired/s/sad.txt": words(20, "e"),
        }
    )
    result = lint(root, ["LN001"])
    assert [(Path(f.path).name, f.message.split(":")[0]) for f in result.findings] == [
        ("baseline.txt", "20 words"),
        ("calm.txt", "39 words"),
        ("happy.txt", "121 words"),
    ]
    assert lint(root, ["LN001"], story_words=(10, 200)).findings == []


def test_ln002_variant_length_around_its_baseline(make_corpus):
    root = make_corpus(
        {
            "paired/s/baseline.txt": words(80, "a"),
            "paired/s/sad.txt": words(64, "b"),
            "paired/s/happy.txt": words(96, "c"),
            "paired/s/calm.txt": words(63, "d"),
            "paired/s/angry.txt": words(97, "e"),
        }
    )
    result = lint(root, ["LN002"])
    assert sorted(Path(f.path).name for f in result.findings) == ["angry.txt", "calm.txt"]
    assert all(f.related == ["corpus/paired/s/baseline.txt"] for f in result.findings)
    assert lint(root, ["LN002"], paired_tolerance=0.25).findings == []


def test_ln002_for_a_variant_given_alone_reads_its_baseline(make_corpus):
    root = make_corpus({"paired/s/baseline.txt": words(80, "a"), "paired/s/calm.txt": words(50, "d")})
    result = lint(root, ["LN002"], paths=[root / "paired/s/calm.txt"])
    assert [f.code for f in result.findings] == ["LN002"] and result.files_checked == 1


# --- AN rules ---------------------------------------------------------------------------------


def test_an001_anchors_match_inflected_and_without_article(make_corpus):
    spec = {"anchors": ["Kwabena", "the back row", "sandwich"]}
    root = make_corpus(
        {
            "paired/beach/scenario.json": json.dumps(spec),
            "paired/beach/baseline.txt": "Kwabena sat in the back row with a sandwich.",
            "paired/beach/amused.txt": "Kwabena's sandwiches went down the back rows.",
            "paired/beach/annoyed.txt": "He lost his lunch in the back row.",
        }
    )
    result = lint(root, ["AN001"])
    assert [(Path(f.path).name, f.message) for f in result.findings] == [
        ("annoyed.txt", "omits the anchor 'Kwabena' declared in scenario.json"),
        ("annoyed.txt", "omits the anchor 'sandwich' declared in scenario.json"),
    ]


def test_an002_guesses_anchors_only_when_none_are_declared(make_corpus):
    baseline = "Mara found the letter in the drawer. She read the letter by the window and Mara sighed."
    files = {
        "paired/letter/baseline.txt": baseline,
        "paired/letter/sad.txt": "Mara found the letters and put them back.",
        "paired/letter/calm.txt": "She found an envelope and did not open it.",
    }
    root = make_corpus(files)
    (finding,) = lint(root, ["AN002"]).findings
    assert Path(finding.path).name == "calm.txt"
    assert "'Mara'" in finding.message and "'the letter'" in finding.message
    (root / "paired/letter/scenario.json").write_text(json.dumps({"anchors": ["envelope"]}))
    assert lint(root, ["AN002"]).findings == []


# --- DU001, CV001 -----------------------------------------------------------------------------

STORY = (
    "The kettle clicked off and nobody moved to pour it. Steam crawled up the window and hung there "
    "while the radio read the shipping forecast to an empty room, Dogger and Fisher and German Bight, "
    "and the cat watched the door as if someone were about to come through it."
)


def test_du001_reports_the_pair_on_both_files_with_similarity(make_corpus):
    root = make_corpus(
        {
            "stories/calm.txt": STORY,
            "stories/calm/copy.txt": STORY.replace("the cat", "the old cat"),
            "stories/sad.txt": words(60, "z"),
            "paired/s/baseline.txt": STORY.replace("kettle", "pan").replace("radio", "tv"),
        }
    )
    result = lint(root, ["DU001"], duplicate_threshold=0.9)
    assert sorted((f.path, f.related[0]) for f in result.findings) == [
        ("corpus/stories/calm.txt", "corpus/stories/calm/copy.txt"),
        ("corpus/stories/calm/copy.txt", "corpus/stories/calm.txt"),
    ]
    assert "94% of word pairs shared" in result.findings[0].message  # 54 of 57 bigrams
    assert len(lint(root, ["DU001"], duplicate_threshold=0.8).findings) == 6


def test_cv001_only_on_whole_corpus_runs(make_corpus):
    root = make_corpus({"stories/calm.txt": "x"})
    result = lint(root, ["CV001"])
    assert len(result.findings) == 1 and {f.path for f in result.findings} == {"corpus"}  # one summary
    assert result.findings[0].message.startswith("what to write next: 178 of 179 concepts have no text yet; ")

    assert all(f.severity == "info" for f in result.findings)
    assert lint(root, ["CV001"], paths=[root / "stories/calm.txt"]).findings == []


# --- registry ---------------------------------------------------------------------------------


def test_every_rule_has_a_stable_code_a_kebab_name_and_bad_and_good_examples():
    assert len({r.code for r in RULES}) == len(RULES) and len({r.name for r in RULES}) == len(RULES)
    for rule in RULES:
        assert rule.name == rule.name.lower() and " " not in rule.name
        assert "Bad" in rule.explanation and "Good" in rule.explanation
        assert len(rule.explanation.splitlines()) <= 40
    issue_codes = "ST001 ST002 ST003 ST004 ST005 ST006 LN001 LN002 KW001 KW002 KW003 AN001 AN002 DU001 CV001".split()
    assert set(issue_codes) <= {r.code for r in RULES}


def test_every_rule_checks_the_context_its_scope_names():
    """A per-file rule's check takes a FileContext, a corpus rule's a CorpusContext, and both yield Hits."""
    import typing
    from collections.abc import Iterable, Iterator

    from toolkit.lint.model import CorpusContext, FileContext, Hit

    expected = {"file": FileContext, "corpus": CorpusContext}
    for rule in RULES:
        hints = typing.get_type_hints(rule.check)
        (parameter,) = [name for name in hints if name != "return"]
        assert hints[parameter] is expected[rule.scope], rule.code
        assert typing.get_origin(hints["return"]) in (Iterator, Iterable) and typing.get_args(hints["return"]) == (Hit,), rule.code
