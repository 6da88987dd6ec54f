"""Reports of `amygdala coverage` and `amygdala stats`, and the JSONL record of `amygdala export`."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas.common import Slug
from schemas.scenario import ScenarioSpec

TextKind = Literal["story", "baseline", "variant"]
Person = Literal["first", "second", "third"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- coverage ---------------------------------------------------------------------------------


class ConceptCoverage(_Strict):
    concept: str
    cluster: Slug
    extra: bool = Field(description="True for concepts beyond the canonical 171.")
    stories: int = Field(ge=0, description="Texts under stories/.")
    variants: int = Field(ge=0, description="Paired variants, in any scenario.")
    scenarios: list[str] = Field(description="Scenarios with a variant of this concept.")
    covered: bool = Field(description="At least one story: the bar `--require all` sets for canonical concepts.")
    single_scenario: bool = Field(
        description="Its paired evidence is exactly one scenario, so its paired direction is one scene's."
    )
    scene_bound: bool = Field(
        description="No story and one scenario: every text of the concept is that scene, and its vector carries it."
    )


class ScenarioCoverage(_Strict):
    scenario: str
    has_baseline: bool = Field(description="Without baseline.txt the variants cannot be paired.")
    variants: int = Field(ge=0)
    concepts: list[str]
    clusters: list[str] = Field(description="Clusters of the variants' concepts (unknown concepts left out).")


class ClusterCoverage(_Strict):
    cluster: Slug
    title: str
    canonical: int = Field(ge=0, description="Canonical concepts in the cluster.")
    canonical_with_story: int = Field(ge=0)
    canonical_with_text: int = Field(ge=0, description="Canonical concepts with a story or a paired variant.")
    extras: int = Field(ge=0)
    extras_with_text: int = Field(ge=0)
    stories: int = Field(ge=0)
    variants: int = Field(ge=0)
    paired_scenarios: list[str] = Field(
        description="Scenarios with a baseline and a variant of one of this cluster's concepts."
    )
    missing: list[str] = Field(description="Canonical concepts without a story.")


class RequirementResult(_Strict):
    requirement: str = Field(description="`all`, `clusters` or a percentage such as `80%`.")
    met: bool
    detail: str = Field(description="What was measured, and what is missing when not met.")


class CoverageReport(_Strict):
    corpus: str
    manifest: str
    canonical: int = Field(ge=0)
    canonical_with_story: int = Field(ge=0)
    canonical_with_text: int = Field(ge=0)
    percent_with_story: float = Field(ge=0, le=100)
    extras: int = Field(ge=0)
    extras_with_text: int = Field(ge=0)
    clusters: list[ClusterCoverage]
    concepts: list[ConceptCoverage]
    scenarios: list[ScenarioCoverage]
    scene_bound: list[str] = Field(description="Concepts whose every text is one scenario's variant.")
    single_scenario: list[str] = Field(description="Concepts whose paired evidence is exactly one scenario.")
    unknown_texts: list[str] = Field(description="Texts whose concept is not in the manifest (not counted).")
    requirements: list[RequirementResult]
    passed: bool = Field(description="Every requirement met; the command exits 1 otherwise.")


# --- stats ------------------------------------------------------------------------------------


class WordSummary(_Strict):
    texts: int = Field(ge=0)
    min: int | None = Field(description="None when there are no texts.")
    median: float | None
    max: int | None


class Readability(_Strict):
    reading_ease: float | None = Field(description="Mean Flesch reading ease of the texts (textstat).")
    words_per_sentence: float | None = Field(description="Mean of the texts' average sentence length, in words.")


class NarratorBalance(_Strict):
    first: int = Field(ge=0)
    second: int = Field(ge=0)
    third: int = Field(ge=0)
    dominant: Person | None = Field(description="The most frequent person; None when nothing was counted.")
    dominant_share: float | None = Field(ge=0, le=1)


class TextStats(_Strict):
    path: str = Field(description="Relative to the corpus root.")
    kind: TextKind
    concept: str | None
    cluster: str | None
    scenario: str | None
    words: int = Field(ge=0)
    reading_ease: float
    words_per_sentence: float
    narrator: Person
    pronouns: dict[Person, int] = Field(description="Pronoun counts outside quoted dialogue.")


class ClusterStats(_Strict):
    cluster: Slug
    title: str
    words: WordSummary
    readability: Readability
    narrator: NarratorBalance = Field(description="Counted per telling: each story once, each scenario once.")


class SharedWord(_Strict):
    word: str = Field(description="Lemma, lowercased.")
    clusters: list[str]
    stories: int = Field(ge=1, description="Stories that use the word.")


StatsFlagKind = Literal["narrator_dominant", "scene_bound", "setting_word", "concept_narrator", "concept_setting"]


class StatsFlag(_Strict):
    kind: StatsFlagKind
    scope: Literal["corpus", "cluster", "concept"]
    subject: str = Field(description="`corpus`, a cluster or a concept.")
    message: str
    paths: list[str] = Field(default_factory=list, description="Texts involved, relative to the corpus root.")


class StatsThresholds(_Strict):
    narrator_max_share: float = Field(description="A person above this share of tellings is flagged.")
    narrator_min_tellings: int = Field(description="Clusters with fewer tellings are not judged.")
    shared_min_clusters: int = Field(description="A word in stories of at least this many clusters is listed.")
    setting_min_tellings: int = Field(description="Concepts with fewer tellings are not judged for a setting word.")
    setting_min_share: float = Field(description="Share of a concept's tellings a setting word must reach.")
    setting_max_corpus_share: float = Field(description="Share of all tellings a setting word must stay under.")
    concept_min_stories: int = Field(2, description="Concepts with fewer stories are not judged for a shared narrator or setting.")


class StatsReport(_Strict):
    corpus: str
    manifest: str
    words: WordSummary
    readability: Readability
    narrator: NarratorBalance = Field(description="Counted per telling: each story once, each scenario once.")
    clusters: list[ClusterStats]
    shared_vocabulary: list[SharedWord]
    flags: list[StatsFlag]
    thresholds: StatsThresholds
    skipped: list[str] = Field(description="Texts left out: not valid UTF-8, or blank.")
    texts: list[TextStats]


# --- interchange ------------------------------------------------------------------------------


class InterchangeRecord(_Strict):
    """One line of `amygdala export`; `amygdala import` reads the same shape back."""

    text: str
    concept: str | None = Field(description="None for baselines.")
    cluster: str | None = Field(description="The concept's cluster; None for baselines and unknown concepts.")
    kind: TextKind
    scenario: str | None = Field(description="None for stories.")
    path: str = Field(description="Where the text lives, relative to the corpus root.")
    scenario_spec: ScenarioSpec | None = Field(
        None, description="On a baseline: its scenario's scenario.json, when there is one."
    )
