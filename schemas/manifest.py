"""The corpus manifest: every concept with its cluster, valence and keyword family."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from schemas.common import Slug

Keyword = Annotated[str, StringConstraints(min_length=1, pattern=r"^[^A-Z]+$", strip_whitespace=True)]


class Cluster(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(description="Human-readable name of the cluster.")
    description: str = Field("", description="One line on what the cluster's emotions share.")


class Concept(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cluster: Slug = Field(description="Slug of the cluster this concept belongs to.")
    valence: Literal["positive", "negative", "neutral"]
    arousal: Literal["low", "medium", "high"] | None = Field(
        None,
        description=(
            "How activated the emotion is, on the arousal axis of Russell's circumplex (1980): low (sleepy, calm, "
            "sad), medium, high (excited, panicked, furious). Three levels, not a number: the ratings are a "
            "hand-made ordinal judgement guided by published word norms (Warriner et al. 2013; NRC VAD, "
            "Mohammad 2018), not values copied from them. Optional so older manifests stay valid; the "
            "valence-arousal analysis leaves out concepts without it. See docs/analyses.md."
        ),
    )
    keywords: list[Keyword] = Field(
        min_length=1,
        description=(
            "Lowercase keyword family that must not appear in the concept's own texts: the word, "
            "its derivational forms and the close synonyms a writer reaches for first. Inflections "
            "are matched through lemmas and need not be listed."
        ),
    )
    extra: bool = Field(False, description="True for concepts beyond the canonical 171.")


class Manifest(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    schema_ref: str | None = Field(None, alias="$schema")
    version: Literal[1] = 1
    clusters: dict[Slug, Cluster] = Field(min_length=1)
    concepts: dict[Slug, Concept] = Field(min_length=1)

    @model_validator(mode="after")
    def _clusters_exist(self) -> "Manifest":
        for name, concept in self.concepts.items():
            if concept.cluster not in self.clusters:
                raise ValueError(
                    f"concepts.{name}.cluster: unknown cluster {concept.cluster!r} "
                    f"(known: {', '.join(sorted(self.clusters))})"
                )
            if len(set(concept.keywords)) != len(concept.keywords):
                raise ValueError(f"concepts.{name}.keywords: repeated keyword")
        return self

    def cluster_of(self, concept: str) -> str:
        return self.concepts[concept].cluster

    def members(self, cluster: str) -> list[str]:
        return [name for name, c in self.concepts.items() if c.cluster == cluster]

    @property
    def canonical(self) -> list[str]:
        return [name for name, c in self.concepts.items() if not c.extra]
