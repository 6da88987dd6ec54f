"""Reports the analysis of a run folder writes: quality.json, validation.json, triage.json, and the comparison.

Per-layer numbers are lists aligned with the report's ``layers``; ``deep`` values are means over the
deep third of those layers (see ``ValidationReport.thirds``).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from schemas.analyses import LensFlag

ClusterLabel = Literal["cohesive", "scattered", "anti-clustered", "undetermined"]
Shape = Literal["clean", "mixed", "fragmented"]


# --------------------------------------------------------------------------- quality.json


class QualityThresholds(BaseModel):
    clean_first_pc: float = Field(description="first_pc_variance_ratio above this: the positives agree on one direction.")
    fragmented_first_pc: float = Field(description="first_pc_variance_ratio below this: the positives pull apart.")
    redundant_r2: float = Field(description="Redundancy R² above this: the direction is nearly a mix of other concepts.")
    single_neuron_cosine: float = Field(description="Best |cosine| with a down-projection column above this: essentially one MLP neuron.")
    ridge_alpha: float = Field(description="L2 penalty of the redundancy ridge regression (unit-length regressors, no intercept).")


class TextAlignment(BaseModel):
    rel: str = Field(description="The text's path relative to the corpus (texts.json).")
    by_layer: list[float] = Field(description="Cosine of the text's centered pooled state with the concept direction, per layer.")
    deep: float = Field(description="Mean of by_layer over the deep third.")


class LowAlignment(BaseModel):
    rel: str
    deep: float


class Neighbour(BaseModel):
    concept: str
    cosine: float


class Contributor(BaseModel):
    concept: str
    coefficient: float = Field(description="Ridge coefficient of this concept's unit direction.")
    cosine: float = Field(description="Cosine between the two directions.")


class Redundancy(BaseModel):
    r2_by_layer: list[float]
    r2: float = Field(description="R² at the report layer.")
    redundant: bool
    contributors: list[Contributor] = Field(description="Largest |coefficient| first, at the report layer.")


class SingleNeuron(BaseModel):
    by_layer: list[float | None] = Field(
        description="Best |cosine| between the direction and any down-projection column of the block writing that layer (null for layer 0, the embeddings)."
    )
    best: float = Field(description="Highest by_layer value over the deep third.")
    best_layer: int
    neuron: int = Field(description="Index of the best column (intermediate unit) at best_layer.")
    one_neuron: bool = Field(description="best above the threshold: the direction is essentially one MLP neuron.")


class ConceptQuality(BaseModel):
    cluster: str
    valence: str
    n_positives: int = Field(ge=0)
    first_pc_variance_ratio: list[float] | None = Field(
        description="Share of the centered positives' variance on their first principal component, per layer."
    )
    first_pc_deep: float | None
    first_pc_reason: str | None = Field(None, description="Why the ratio is missing, or why it is uninformative.")
    shape: Shape | None = Field(description="clean / mixed / fragmented from first_pc_deep; null when undetermined.")
    alignment: list[TextAlignment]
    lowest_aligned: list[LowAlignment] = Field(description="The two lowest-aligned positives (outlier candidates).")
    nearest: list[Neighbour] = Field(description="The five nearest concepts by cosine at the report layer.")
    redundancy: Redundancy | None
    redundancy_reason: str | None = None
    single_neuron: SingleNeuron | None
    single_neuron_reason: str | None = None


class DownProjectionSource(BaseModel):
    available: bool
    model: str | None = Field(description="Folder the weights were read from.")
    pattern: str | None = Field(None, description="Tensor name pattern matched, with {block} for the block index.")
    reason: str | None = None


class QualityReport(BaseModel):
    layers: list[int]
    report_layer: int = Field(description="Layer of nearest, redundancy.r2 and contributors.")
    deep_layers: list[int]
    thresholds: QualityThresholds
    redundancy_chance_r2: float = Field(
        description="In-sample R² expected for random directions: (n_concepts - 1) / hidden_size, capped at 1."
    )
    down_projection: DownProjectionSource
    concepts: dict[str, ConceptQuality]


# --------------------------------------------------------------------------- validation.json


class ValidationThresholds(BaseModel):
    cohesive_cohesion: float = Field(description="cohesive: cohesion above this ...")
    cohesive_silhouette: float = Field(description="... and silhouette above this.")
    anti_clustered_cohesion: float = Field(description="anti-clustered: cohesion below this; anything else is scattered.")
    valence_separation_auc: float = Field(description="PC1 separates valence when max(AUC, 1-AUC) reaches this.")


class ThirdSummary(BaseModel):
    layers: list[int]
    cohesion: float | None
    silhouette: float | None
    label: ClusterLabel
    layer_labels: dict[str, int] = Field(description="How many layers of the third got each label.")


class ClusterValidation(BaseModel):
    title: str
    concepts: list[str]
    cohesion: list[float] | None = Field(description="Mean cosine within the cluster minus mean cosine to other clusters' concepts, per layer.")
    within: list[float] | None
    between: list[float] | None
    silhouette: list[float] | None = Field(description="Mean cosine silhouette of the cluster's concepts, per layer.")
    labels: list[ClusterLabel]
    reason: str | None = Field(None, description="Why the cluster is undetermined.")
    thirds: dict[str, ThirdSummary | None] = Field(description="early, middle, deep.")


class ProbeLayer(BaseModel):
    layer: int
    accuracy: float = Field(description="Out-of-fold accuracy.")
    ci_low: float
    ci_high: float
    chance: float = Field(description="Accuracy of always predicting the most frequent class.")
    p_value: float = Field(description="Permutation p-value: (1 + #permutations scoring >= accuracy) / (1 + permutations).")


class ProbeSettings(BaseModel):
    classifier: str
    folds: int
    dims: int = Field(description="Principal components the probe sees (scaled to unit mean variance, not whitened), fitted per layer on all texts without labels.")
    C: float
    iterations: int
    permutations: int
    bootstrap: int
    seed: int


class ProbeResult(BaseModel):
    level: Literal["cluster", "concept"]
    n_texts: int
    n_classes: int
    dropped_classes: list[str] = Field(description="Classes with fewer texts than folds, left out of the probe.")
    settings: ProbeSettings
    layers: list[ProbeLayer]


class ValenceLayer(BaseModel):
    layer: int
    auc: float = Field(description="AUC of positive over negative concepts along PC1 (sign as computed; 0.5 = no split).")
    separation: float = Field(description="max(auc, 1 - auc).")
    positive_side: Literal["+", "-"] = Field(description="Side of PC1 the positive concepts fall on.")
    effect: float = Field(description="|mean PC1 positive - mean PC1 negative| / std of PC1 over all concepts.")
    pc1_variance_ratio: float
    separates: bool


class ValidationReport(BaseModel):
    layers: list[int]
    thirds: dict[str, list[int]]
    thresholds: ValidationThresholds
    clusters: dict[str, ClusterValidation]
    cluster_probe: ProbeResult | None
    cluster_probe_reason: str | None = None
    concept_probe: ProbeResult | None
    concept_probe_reason: str | None = None
    valence: list[ValenceLayer] | None
    valence_reason: str | None = None


# --------------------------------------------------------------------------- triage.json


class WeakCluster(BaseModel):
    cluster: str
    label: ClusterLabel
    cohesion: float | None
    silhouette: float | None
    reason: str


class FarConcept(BaseModel):
    concept: str
    cluster: str
    mate_cosine: float = Field(description="Mean cosine to its cluster-mates over the deep third.")
    closest_cluster: str | None = Field(description="The other cluster with the highest mean cosine.")
    closest_cosine: float | None


class TextReason(BaseModel):
    kind: Literal["far-from-cluster", "low-alignment", "fragmented-concept", "near-duplicate", "lint"]
    detail: str
    value: float | None = None


class TextToRewrite(BaseModel):
    rel: str
    concept: str | None
    cluster: str | None
    alignment: float | None = Field(description="Deep-third alignment with its concept direction (null for baselines).")
    in_weak_cluster: bool = Field(False, description="The text's concept belongs to a cluster that is not cohesive in the deep third.")
    reasons: list[TextReason]


class TriageSettings(BaseModel):
    deep_layers: list[int]
    concepts_per_cluster: int
    low_alignment_quantile: float
    near_duplicate_cosine: float


class TriageReport(BaseModel):
    settings: TriageSettings
    weak_clusters: list[WeakCluster]
    cohesive_clusters: list[str]
    far_concepts: list[FarConcept]
    texts: list[TextToRewrite] = Field(description="Lowest alignment first; texts without an alignment last.")
    leaky_concepts: list[LensFlag] = Field(
        default_factory=list,
        description="Concepts whose logit lens mostly promotes pronouns, punctuation or template tokens (analyses.json lens.flags): narrator or format leakage.",
    )


# --------------------------------------------------------------------------- comparison


class ClusterChange(BaseModel):
    cluster: str
    before: float | None
    after: float | None
    delta: float | None
    label_before: ClusterLabel | None
    label_after: ClusterLabel | None
    flip: str | None = Field(description="e.g. 'anti-clustered -> cohesive' when the deep-third label changed.")


class ConceptChange(BaseModel):
    concept: str
    first_pc_before: float | None
    first_pc_after: float | None
    alignment_before: float | None = Field(description="Mean deep-third alignment of the concept's positives.")
    alignment_after: float | None
    redundancy_before: float | None
    redundancy_after: float | None


class TextChanges(BaseModel):
    added: list[str]
    removed: list[str]
    changed: list[str]
    unchanged: int


class ComparisonReport(BaseModel):
    run_a: str
    run_b: str
    notes: list[str] = Field(description="Differences in setup that make the numbers less comparable.")
    clusters: list[ClusterChange]
    concepts: list[ConceptChange]
    texts: TextChanges
