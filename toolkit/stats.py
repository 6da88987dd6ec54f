"""Corpus statistics: length, readability, narrator person, and the confounds the style guide warns about.

The unit for balance is the *telling*: each story is one, and each paired scenario is one
(its baseline and variants share a narrator and a setting by design). Narrator balance
and setting words are counted over tellings, so a scenario with six variants does not
outvote six separate stories.

Flags (advisory: the command still exits 0):

- ``narrator_dominant``: one person (first, second, third) holds more than
  ``narrator_max_share`` of the tellings, over the corpus or in a cluster with at least
  ``narrator_min_tellings`` tellings.
- ``scene_bound``: a concept with no story whose every text is a variant in one scenario.
- ``setting_word``: a concept with at least ``setting_min_tellings`` tellings, where one
  content word appears in at least ``setting_min_share`` of them but in at most
  ``setting_max_corpus_share`` of all the corpus's tellings: a place or object that
  travels with the concept, which its vector will learn.
- ``concept_narrator``: a concept with at least ``concept_min_stories`` stories, all told in
  the same person: the vector learns the pronouns along with the emotion.
- ``concept_setting``: two or more stories of one concept share a place noun from the
  curated list in ``toolkit/data/settings.txt`` (kitchen, ferry, hospital...): the stories
  of a concept must not share a setting.

The shared vocabulary counts stories only: paired variants share their scenario's words
on purpose, and the baseline subtracts them.
"""

from __future__ import annotations

import gzip
import json
import math
import re
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Literal

from schemas.reports import (
    ClusterStats,
    NarratorBalance,
    Person,
    Readability,
    SharedWord,
    StatsFlag,
    StatsReport,
    StatsThresholds,
    TextStats,
    WordSummary,
)
from toolkit.corpus import Corpus, Text
from toolkit.lint.textutil import count_words

PERSONS: tuple[Person, ...] = ("first", "second", "third")
_PRONOUNS: dict[str, Person] = {
    **dict.fromkeys(("i", "me", "my", "mine", "myself", "we", "us", "our", "ours", "ourselves"), "first"),
    **dict.fromkeys(("you", "your", "yours", "yourself", "yourselves"), "second"),
    **dict.fromkeys(
        ("he", "him", "his", "himself", "she", "her", "hers", "herself", "they", "them", "their", "theirs", "themselves"),
        "third",
    ),
}
# A stray "I" in free indirect thought does not make a third-person text first person.
_MIN_NARRATOR_PRONOUNS = 2
# Straight and curly double quotes; curly single quotes only when the closing mark is not an apostrophe.
_QUOTED = re.compile(r"“[^”]*”|\"[^\"]*\"|‘.*?’(?![a-z])", re.S | re.I)
_TOKEN = re.compile(r"[a-z]+(?:['’][a-z]+)*")
_MIN_WORD_LENGTH = 3

# Function words and the everyday verbs every narrative uses; everything else counts as content.
STOPWORDS = frozenset(
    """
    a about above across after afterwards again against all almost alone along already also although always am
    among amongst an and another any anyone anything anyway anywhere are around as at back be became because
    become becomes been before beforehand behind being below beside besides between beyond both but by can
    cannot could did do does doing done down during each either else elsewhere enough even ever every everyone
    everything everywhere except few for former formerly from further get gets getting go goes going gone got
    had has have having he hence her here hereafter herein hers herself him himself his how however i if in
    indeed into is it its itself just keep last latter least less let like made make many may me meanwhile
    might mine more moreover most mostly much must my myself neither never nevertheless next no nobody none
    noone nor not nothing now nowhere of off often on once one only onto or other others otherwise our ours
    ourselves out over own per perhaps put quite rather really said same say says see seem seemed seeming
    seems several she should since so some somehow someone something sometime sometimes somewhere still such
    take than that the their theirs them themselves then thence there thereafter thereby therefore therein
    these they this those though through throughout thru thus to together too toward towards two under
    until up upon us very via was way we well were what whatever when whence whenever where whereafter
    whereas whereby wherein whereupon wherever whether which while whither who whoever whole whom whose why
    will with within without would yet you your yours yourself yourselves
    ask begin call come feel find give know leave look need start tell thing think time try turn use want
    """.split()
)


@dataclass
class Tally:
    """Counts of one group of texts or tellings, summarised into the report's models."""

    words: list[int] = field(default_factory=list)
    reading_ease: list[float] = field(default_factory=list)
    words_per_sentence: list[float] = field(default_factory=list)
    narrators: Counter[Person] = field(default_factory=Counter)

    def add_text(self, row: TextStats) -> None:
        self.words.append(row.words)
        self.reading_ease.append(row.reading_ease)
        self.words_per_sentence.append(row.words_per_sentence)

    def word_summary(self) -> WordSummary:
        if not self.words:
            return WordSummary(texts=0, min=None, median=None, max=None)
        return WordSummary(texts=len(self.words), min=min(self.words), median=statistics.median(self.words), max=max(self.words))

    def readability(self) -> Readability:
        def mean(values: list[float]) -> float | None:
            return round(statistics.fmean(values), 2) if values else None

        return Readability(reading_ease=mean(self.reading_ease), words_per_sentence=mean(self.words_per_sentence))

    def balance(self) -> NarratorBalance:
        total = sum(self.narrators.values())
        if not total:
            return NarratorBalance(first=0, second=0, third=0, dominant=None, dominant_share=None)
        dominant, count = max(self.narrators.items(), key=lambda item: (item[1], -PERSONS.index(item[0])))
        return NarratorBalance(
            first=self.narrators["first"],
            second=self.narrators["second"],
            third=self.narrators["third"],
            dominant=dominant,
            dominant_share=round(count / total, 4),
        )


def tokens(text: str) -> list[str]:
    """Lowercased word tokens; a possessive 's is dropped, so "Rafael's" gives "rafael"."""
    out = []
    for token in _TOKEN.findall(text.lower()):
        token = token.replace("’", "'")
        if token.endswith("'s"):
            token = token[:-2]
        out.append(token)
    return out


def pronoun_counts(text: str) -> dict[Person, int]:
    """Personal pronouns by person, outside quoted dialogue ("I'm" counts as "I")."""
    counts: dict[Person, int] = dict.fromkeys(PERSONS, 0)
    for token in tokens(_QUOTED.sub(" ", text)):
        person = _PRONOUNS.get(token.split("'")[0])
        if person is not None:
            counts[person] += 1
    return counts


def narrator_person(counts: dict[Person, int]) -> Person:
    """First or second person when the narration uses it at least twice; otherwise third."""
    first, second = counts["first"], counts["second"]
    if first >= _MIN_NARRATOR_PRONOUNS and first >= second:
        return "first"
    if second >= _MIN_NARRATOR_PRONOUNS:
        return "second"
    return "third"


@lru_cache(maxsize=1)
def _lemma_table() -> dict[str, str]:
    # spaCy's own English lookup table, read directly: importing spaCy costs seconds.
    import spacy_lookups_data

    path = Path(str(spacy_lookups_data.en["lemma_lookup"]))
    if path.is_file():
        return json.loads(path.read_text(encoding="utf-8"))
    # The package ships the table gzipped and names it without the suffix, as spaCy's reader expects.
    with gzip.open(path.with_name(path.name + ".gz"), "rt", encoding="utf-8") as fh:
        return json.load(fh)


def content_lemmas(text: str) -> set[str]:
    """Lemmas of the words that are not function words, numbers or shorter than three letters."""
    table = _lemma_table()
    out = set()
    for token in tokens(text):
        if "'" in token:
            continue  # contractions are function words
        lemma = table.get(token, token)
        if len(lemma) >= _MIN_WORD_LENGTH and lemma not in STOPWORDS and token not in STOPWORDS:
            out.add(lemma)
    return out


def _readability(text: str) -> tuple[float, float]:
    import textstat

    return float(textstat.flesch_reading_ease(text)), float(textstat.words_per_sentence(text))


def text_stats(text: Text, body: str, cluster: str | None) -> TextStats:
    pronouns = pronoun_counts(body)
    reading_ease, per_sentence = _readability(body)
    return TextStats(
        path=text.rel,
        kind=text.kind,
        concept=text.concept,
        cluster=cluster,
        scenario=text.scenario,
        words=count_words(body),
        reading_ease=round(reading_ease, 2),
        words_per_sentence=round(per_sentence, 2),
        narrator=narrator_person(pronouns),
        pronouns=pronouns,
    )


@dataclass
class Telling:
    """One story, or one scenario with all its texts."""

    is_story: bool
    narrator: Person
    by_concept: dict[str, tuple[str, set[str]]]  # concept -> (path of its text, that text's content lemmas)
    lemmas: set[str]  # content lemmas of every text in the telling


def _tellings(corpus: Corpus, rows: dict[str, TextStats]) -> list[Telling]:
    out = []
    for text in corpus.stories:
        if text.rel not in rows or text.concept is None:
            continue
        lemmas = content_lemmas(text.text or "")
        out.append(Telling(True, rows[text.rel].narrator, {text.concept: (text.rel, lemmas)}, lemmas))
    for scenario in corpus.scenarios:
        texts = [t for t in [scenario.baseline, *scenario.variants] if t is not None and t.rel in rows]
        if not texts:
            continue
        votes = Counter(rows[t.rel].narrator for t in texts)
        tied = [p for p in PERSONS if votes[p] == max(votes.values())]
        lead = rows[texts[0].rel].narrator  # the baseline's, when there is one
        lemmas = {t.rel: content_lemmas(t.text or "") for t in texts}
        out.append(
            Telling(
                False,
                lead if lead in tied else tied[0],
                {t.concept: (t.rel, lemmas[t.rel]) for t in texts if t.concept is not None},
                set().union(*lemmas.values()),
            )
        )
    return out


def _narrator_flags(
    scope: Literal["corpus", "cluster"], subject: str, tally: Tally, max_share: float, min_tellings: int
) -> list[StatsFlag]:
    balance = tally.balance()
    total = balance.first + balance.second + balance.third
    if total < min_tellings or balance.dominant_share is None or balance.dominant_share <= max_share:
        return []
    where = "the corpus" if scope == "corpus" else subject
    return [
        StatsFlag(
            kind="narrator_dominant",
            scope=scope,
            subject=subject,
            message=(
                f"{balance.dominant} person narrates {balance.dominant_share:.0%} of the {total} tellings in {where} "
                f"(first {balance.first}, second {balance.second}, third {balance.third}); vary the narrator"
            ),
        )
    ]


def _setting_flags(corpus: Corpus, tellings: list[Telling], thresholds: StatsThresholds) -> list[StatsFlag]:
    corpus_frequency: Counter[str] = Counter()
    for telling in tellings:
        corpus_frequency.update(telling.lemmas)
    flags = []
    for concept, spec in corpus.manifest.concepts.items():
        own = [t.by_concept[concept] for t in tellings if concept in t.by_concept]
        if len(own) < thresholds.setting_min_tellings:
            continue
        avoid = {w for k in spec.keywords for w in k.split()}
        counts: Counter[str] = Counter()
        for _, lemmas in own:
            counts.update(lemmas - avoid)
        words = [
            word
            for word, count in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
            if count / len(own) >= thresholds.setting_min_share
            and corpus_frequency[word] / len(tellings) <= thresholds.setting_max_corpus_share
        ]
        if words:
            shown = ", ".join(f"{w!r} ({counts[w]}/{len(own)})" for w in words)
            flags.append(
                StatsFlag(
                    kind="setting_word",
                    scope="concept",
                    subject=concept,
                    message=(
                        f"most tellings of {concept} share words that are rare elsewhere in the corpus: {shown}; "
                        "the vector may learn them instead of the emotion, so vary the setting"
                    ),
                    paths=[path for path, lemmas in own if lemmas & set(words)],
                )
            )
    return flags


@lru_cache(maxsize=1)
def setting_nouns() -> frozenset[str]:
    lines = (Path(__file__).parent / "data" / "settings.txt").read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))


def _concept_story_flags(rows: dict[str, TextStats], tellings: list[Telling], thresholds: StatsThresholds) -> list[StatsFlag]:
    """A narrator person or a setting shared by every (person) or two (setting) stories of one concept."""
    stories: dict[str, list[tuple[str, set[str]]]] = defaultdict(list)
    for telling in tellings:
        if telling.is_story:
            ((concept, (path, lemmas)),) = telling.by_concept.items()
            stories[concept].append((path, lemmas))
    flags = []
    for concept, own in sorted(stories.items()):
        if len(own) < thresholds.concept_min_stories:
            continue
        persons = {rows[path].narrator for path, _ in own}
        if len(persons) == 1:
            flags.append(
                StatsFlag(
                    kind="concept_narrator",
                    scope="concept",
                    subject=concept,
                    message=f"all {len(own)} stories of {concept} are told in the {persons.pop()} person; "
                    "tell at least one in another, so its vector does not learn the pronouns",
                    paths=[path for path, _ in own],
                )
            )
        counts = Counter(word for _, lemmas in own for word in lemmas & setting_nouns())
        shared = sorted(word for word, n in counts.items() if n >= 2)
        if shared:
            flags.append(
                StatsFlag(
                    kind="concept_setting",
                    scope="concept",
                    subject=concept,
                    message=f"stories of {concept} share a setting: "
                    + ", ".join(f"{w!r} ({counts[w]}/{len(own)})" for w in shared)
                    + "; give each story of a concept its own place",
                    paths=[path for path, lemmas in own if lemmas & set(shared)],
                )
            )
    return flags


def _scene_bound_flags(corpus: Corpus) -> list[StatsFlag]:
    flags = []
    for concept in corpus.manifest.concepts:
        texts = corpus.texts_of(concept)
        scenes = {t.scenario for t in texts}
        if texts and all(t.kind == "variant" for t in texts) and len(scenes) == 1:
            (scene,) = scenes
            flags.append(
                StatsFlag(
                    kind="scene_bound",
                    scope="concept",
                    subject=concept,
                    message=f"every text of {concept} is in the scenario {scene}: write a story in another setting",
                    paths=[t.rel for t in texts],
                )
            )
    return flags


def _shared_vocabulary(tellings: list[Telling], corpus: Corpus, min_clusters: int) -> list[SharedWord]:
    clusters: dict[str, set[str]] = defaultdict(set)
    stories: Counter[str] = Counter()
    for telling in tellings:
        if not telling.is_story:
            continue
        (concept,) = telling.by_concept
        cluster = corpus.manifest.concepts[concept].cluster if concept in corpus.manifest.concepts else None
        for word in telling.lemmas:
            stories[word] += 1
            if cluster is not None:
                clusters[word].add(cluster)
    shared = [
        SharedWord(word=word, clusters=sorted(clusters[word]), stories=stories[word])
        for word in stories
        if len(clusters[word]) >= min_clusters
    ]
    return sorted(shared, key=lambda w: (-len(w.clusters), -w.stories, w.word))


def default_shared_min_clusters(corpus: Corpus) -> int:
    """More than half of the clusters that have stories, and at least two."""
    with_stories = {corpus.manifest.concepts[t.concept].cluster for t in corpus.stories if t.concept in corpus.manifest.concepts}
    return max(2, math.floor(len(with_stories) / 2) + 1)


def corpus_stats(
    corpus: Corpus,
    *,
    narrator_max_share: float = 0.6,
    narrator_min_tellings: int = 5,
    shared_min_clusters: int | None = None,
    setting_min_tellings: int = 3,
    setting_min_share: float = 0.6,
    setting_max_corpus_share: float = 0.03,
    concept_min_stories: int = 2,
) -> StatsReport:
    thresholds = StatsThresholds(
        narrator_max_share=narrator_max_share,
        narrator_min_tellings=narrator_min_tellings,
        shared_min_clusters=shared_min_clusters or default_shared_min_clusters(corpus),
        setting_min_tellings=setting_min_tellings,
        setting_min_share=setting_min_share,
        setting_max_corpus_share=setting_max_corpus_share,
        concept_min_stories=concept_min_stories,
    )
    concepts = corpus.manifest.concepts
    rows: dict[str, TextStats] = {}
    skipped = []
    for text in corpus.texts():
        if text.text is None or not text.text.strip():
            skipped.append(text.rel)
            continue
        cluster = concepts[text.concept].cluster if text.concept in concepts else None
        rows[text.rel] = text_stats(text, text.text, cluster)

    overall = Tally()
    by_cluster: dict[str, Tally] = {slug: Tally() for slug in corpus.manifest.clusters}
    for row in rows.values():
        overall.add_text(row)
        if row.cluster is not None:
            by_cluster[row.cluster].add_text(row)
    tellings = _tellings(corpus, rows)
    for telling in tellings:
        overall.narrators[telling.narrator] += 1
        for cluster in {concepts[c].cluster for c in telling.by_concept if c in concepts}:
            by_cluster[cluster].narrators[telling.narrator] += 1

    flags = _narrator_flags("corpus", "corpus", overall, narrator_max_share, narrator_min_tellings)
    for slug, tally in by_cluster.items():
        flags += _narrator_flags("cluster", slug, tally, narrator_max_share, narrator_min_tellings)
    flags += _scene_bound_flags(corpus)
    flags += _setting_flags(corpus, tellings, thresholds)
    flags += _concept_story_flags(rows, tellings, thresholds)

    return StatsReport(
        corpus=str(corpus.root),
        manifest=str(corpus.manifest_path),
        words=overall.word_summary(),
        readability=overall.readability(),
        narrator=overall.balance(),
        clusters=[
            ClusterStats(
                cluster=slug,
                title=cluster.title,
                words=by_cluster[slug].word_summary(),
                readability=by_cluster[slug].readability(),
                narrator=by_cluster[slug].balance(),
            )
            for slug, cluster in corpus.manifest.clusters.items()
        ],
        shared_vocabulary=_shared_vocabulary(tellings, corpus, thresholds.shared_min_clusters),
        flags=flags,
        thresholds=thresholds,
        skipped=skipped,
        texts=list(rows.values()),
    )
