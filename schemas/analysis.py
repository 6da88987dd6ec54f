"""Reports the analysis of a run folder writes: quality.json, validation.json, triage.json, and the comparison.

Per-layer numbers are lists aligned with the report's ``layers``; ``deep`` values are means over the
deep third of those layers (see ``ValidationReport.thirds``).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from schemas.analyses import LensFlag

ClusterLabel = Literal["cohesive", "scattered", "anti-clustered", "too small to judge", "undetermined"]
Shape = Literal["clean", "mixed", "fragmented"]


# --------------------------------------------------------------------------- evidence


class NullTest(BaseModel):
    """A statistic next to its permutation null: the evidence every label and claim carries."""

    value: float = Field(description="The observed statistic.")
    null_mean: float = Field(description="Mean of the statistic under the null.")
    null_low: float = Field(description="2.5th percentile of the null.")
    null_high: float = Field(description="97.5th percentile of the null.")
    z: float = Field(description="(value - null mean) / null standard deviation.")
    p: float = Field(description="One-sided permutation p-value on `side`: (1 + #null at least as extreme) / (1 + permutations); its floor is 1 / (permutations + 1).")
    p_adjusted: float | None = Field(None, description="p corrected for the family it belongs to (Holm across clusters, or max over layers).")
    permutations: int = Field(description="Draws of the null.")
    side: Literal["above", "below"] = Field("above", description="Which tail p measures.")


# --------------------------------------------------------------------------- quality.json


class QualityThresholds(BaseModel):
    alpha: float = Field(description="Significance level of the labels below, each against its null.")
    min_first_pc_texts: int = Field(description="The first-PC ratio is judged from this many positives up (fewer span too few directions).")
    null_draws: int = Field(description="Random text sets drawn per size for the leave-one-out alignment null (the first-PC null's draws: first_pc_test.permutations).")
    redundancy_shuffles: int = Field(description="Label shuffles building the redundancy null.")
    single_neuron_cosine: float = Field(description="Best |cosine| with a down-projection column above this: essentially one MLP neuron.")
    ridge_alpha: float = Field(description="L2 penalty of the redundancy ridge regression (unit-length regressors, no intercept).")


class TextAlignment(BaseModel):
    rel: str = Field(description="The text's path relative to the corpus (texts.json).")
    by_layer: list[float] = Field(description="In-sample: cosine of the text's centered pooled state with the concept direction (which it helped build), per layer.")
    deep: float = Field(description="Mean of by_layer over the deep third (in-sample).")
    loo: float | None = Field(None, description="Out of sample: deep-third cosine with the concept's direction built without this text; null for a concept with one text.")
    loo_null_95: float | None = Field(None, description="95th percentile of the same statistic for a random text set of the concept's size.")
    loo_p: float | None = Field(None, description="Share of random same-size sets aligning at least as well (permutation p, above).")


class LowAlignment(BaseModel):
    rel: str
    deep: float
    loo: float | None = None
    loo_p: float | None = None


class Neighbour(BaseModel):
    concept: str
    cosine: float
    shared_scenarios: list[str] = Field(default_factory=list, description="Paired scenarios both concepts have a variant in: their closeness may be the scenario's.")


class Contributor(BaseModel):
    concept: str
    coefficient: float = Field(description="Ridge coefficient of this concept's unit direction.")
    cosine: float = Field(description="Cosine between the two directions.")


class Redundancy(BaseModel):
    r2_by_layer: list[float]
    r2: float = Field(description="R² at the report layer.")
    test: NullTest | None = Field(
        None, description="R² of the concept's mean-difference vector rebuilt from the activations, against the R² of vectors built from texts with shuffled concept labels (pooled over concepts)."
    )
    redundant: bool = Field(description="test above its null at alpha, and r2 above the null's 97.5th percentile.")
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
    first_pc_test: NullTest | None = Field(None, description="first_pc_deep against random sets of the same number of positives.")
    shape: Shape | None = Field(
        description="clean: above its null at alpha; fragmented: not above the null's median (no more one-directional than random texts); mixed: between; null when undetermined."
    )
    alignment_reason: str | None = Field(None, description="Why the texts cannot be judged out of sample.")
    alignment: list[TextAlignment]
    lowest_aligned: list[LowAlignment] = Field(description="The two positives with the lowest out-of-sample alignment.")
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
    redundancy_null: NullTest | None = Field(None, description="Median concept's rebuilt R² against the label-shuffled null (the null's band for every concept).")
    down_projection: DownProjectionSource
    concepts: dict[str, ConceptQuality]


# --------------------------------------------------------------------------- validation.json


class ValidationThresholds(BaseModel):
    alpha: float = Field(description="Significance level of every label (after the correction named with it).")
    min_cluster_concepts: int = Field(description="Clusters with fewer concepts are 'too small to judge': a random set that small is cohesive too often.")
    permutations: int = Field(description="Draws of every permutation null.")
    valence_separation_auc: float = Field(description="PC1 separates valence when max(AUC, 1-AUC) reaches this and beats its null.")


class ThirdSummary(BaseModel):
    layers: list[int]
    cohesion: float | None
    silhouette: float | None
    label: ClusterLabel
    layer_labels: dict[str, int] = Field(description="How many layers of the third got each label.")
    cohesion_test: NullTest | None = Field(
        None, description="Cohesion averaged over the third against the same average for random concept sets of this cluster's size; p two-sided, Holm across clusters."
    )
    silhouette_test: NullTest | None = Field(None, description="The same for the silhouette (reported, not used for the label).")


class ClusterValidation(BaseModel):
    title: str
    concepts: list[str]
    cohesion: list[float] | None = Field(description="Mean cosine within the cluster minus mean cosine to other clusters' concepts, per layer.")
    within: list[float] | None
    between: list[float] | None
    silhouette: list[float] | None = Field(description="Mean cosine silhouette of the cluster's concepts, per layer.")
    cohesion_null_mean: list[float] | None = Field(None, description="Mean cohesion of random concept sets of the same size, per layer.")
    cohesion_z: list[float] | None = Field(None, description="(cohesion - null mean) / null sd, per layer.")
    cohesion_p: list[float] | None = Field(None, description="Two-sided permutation p per layer, Holm-adjusted across the judged clusters.")
    labels: list[ClusterLabel]
    reason: str | None = Field(None, description="Why the cluster is not labelled from its null.")
    thirds: dict[str, ThirdSummary | None] = Field(description="early, middle, deep.")


class ProbeLayer(BaseModel):
    layer: int
    accuracy: float = Field(description="Out-of-fold accuracy of the ridge classifier (grouped, purged folds).")
    ci_low: float = Field(description="2.5th percentile of the accuracy over a bootstrap of the groups (concepts or scenarios).")
    ci_high: float
    cv_seed_sd: float | None = Field(None, description="Standard deviation of the accuracy over fold assignments (settings.cv_seeds); computed at the headline layers.")
    chance: float = Field(description="Share of the most frequent class.")
    null_mean: float | None = Field(None, description="Mean accuracy under the permutation null (labels permuted across concepts).")
    null_95: float | None = Field(None, description="95th percentile of the null accuracy.")
    p_value: float | None = Field(None, description="Permutation p-value of this layer alone, (1 + #null >= accuracy) / (1 + permutations).")
    p_family: float | None = Field(None, description="Family-wise p over all layers: against each permutation's maximum accuracy over layers.")


class ProbeSettings(BaseModel):
    classifier: str
    grouping: str = Field(description="How texts are kept together across folds.")
    permutation_unit: str | None = Field(description="What the null permutes; null when there is no permutation test.")
    folds: int
    C: float = Field(description="Inverse L2 strength of the headline logistic regression (scikit-learn's C).")
    ridge: float = Field(description="Ridge penalty per training text of the per-layer classifier (standardised features).")
    permutations: int
    bootstrap: int
    bootstrap_unit: str
    cv_seeds: int
    seed: int
    headline_layers: list[int] = Field(description="Pre-declared layers of the headline figure.")


class ProbeHeadline(BaseModel):
    layers: list[int] = Field(description="The pre-declared layers (not chosen by looking at the results).")
    accuracy: float = Field(description="scikit-learn LogisticRegression (StandardScaler, L2, C) on the same folds, mean over the layers.")
    ci_low: float = Field(description="Group bootstrap 95% interval.")
    ci_high: float
    ridge_accuracy: float = Field(description="The ridge classifier's accuracy on the same folds and layers.")
    p_ridge: float | None = Field(description="Permutation p of the ridge accuracy over these layers (the tested statistic).")


class ProbeResult(BaseModel):
    level: Literal["cluster", "concept"]
    n_texts: int
    n_classes: int
    n_groups: int = Field(description="Groups kept together by the folds.")
    n_units: int = Field(description="Exchangeable units (concepts for the cluster probe).")
    dropped_classes: list[str] = Field(description="Classes left out (too few concepts or texts to appear on both sides).")
    settings: ProbeSettings
    layers: list[ProbeLayer]
    best_layer: int = Field(description="Exploratory: the layer of highest accuracy, selected after the fact.")
    best_p_family: float | None = Field(description="The best layer's p corrected for its selection (max over layers).")
    headline: ProbeHeadline | None
    headline_reason: str | None = None


class ValenceLayer(BaseModel):
    layer: int
    auc: float = Field(description="AUC of positive over negative concepts along PC1 (sign as computed; 0.5 = no split).")
    separation: float = Field(description="max(auc, 1 - auc).")
    positive_side: Literal["+", "-"] = Field(description="Side of PC1 the positive concepts fall on.")
    effect: float = Field(description="|mean PC1 positive - mean PC1 negative| / std of PC1 over all concepts.")
    pc1_variance_ratio: float
    p_value: float | None = Field(None, description="Permutation p of the separation, valence labels permuted across concepts.")
    separates: bool


class SourceGeometry(BaseModel):
    """Cluster cohesion of vectors built from one kind of text only."""

    source: Literal["story", "paired", "combined"]
    recipe: str
    n_concepts: int
    clusters: dict[str, NullTest | None] = Field(description="Deep-third cohesion against its size-matched null; null when too small to judge.")
    reason: str | None = None


class PairCell(BaseModel):
    pairs: int
    mean_cosine: float | None


class SharedScenarioPair(BaseModel):
    a: str
    b: str
    cosine: float
    same_cluster: bool
    scenarios: list[str]


class ScenarioConfound(BaseModel):
    """Do concepts that share a paired scenario look alike whatever their clusters?"""

    layers: list[int] = Field(description="Deep third: cosines averaged over these layers.")
    shared_same_cluster: PairCell
    shared_other_cluster: PairCell
    unshared_same_cluster: PairCell
    unshared_other_cluster: PairCell
    effect: NullTest | None = Field(
        description="Mean cosine of different-cluster pairs sharing a scenario minus those not sharing one; null: concepts' scenario memberships permuted (Mantel)."
    )
    confounded: bool
    top_pairs: list[SharedScenarioPair] = Field(description="The closest concept pairs that share a scenario.")
    reason: str | None = None


class PersonShare(BaseModel):
    concept: str
    narrator: str = Field(description="The person most of the concept's texts are told in.")
    share: float = Field(description="Share of the deep-third vector's squared length in the span of the person directions.")


class NarratorConfound(BaseModel):
    """Does the narrator's grammatical person (from the texts' pronouns) leak into the concept vectors?"""

    layers: list[int]
    texts_by_person: dict[str, int]
    concepts_by_person: dict[str, int] = Field(description="Concepts by the person most of their texts use.")
    decodable: NullTest | None = Field(
        description="Leave-one-concept-out nearest-centroid accuracy predicting a concept's narrator person from its vector; null: persons permuted across concepts."
    )
    mean_share: float | None = Field(description="Mean share of a vector in the person directions' span.")
    random_share: float | None = Field(description="Expected share for a random direction: rank of the span / hidden size.")
    top: list[PersonShare]
    confounded: bool
    reason: str | None = None


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
    geometry_by_source: list[SourceGeometry] = Field(default_factory=list)
    scenario_confound: ScenarioConfound | None = None
    narrator_confound: NarratorConfound | None = None


# --------------------------------------------------------------------------- triage.json


class WeakCluster(BaseModel):
    cluster: str
    label: ClusterLabel
    n_concepts: int = 0
    cohesion: float | None
    silhouette: float | None
    test: NullTest | None = Field(None, description="Deep-third cohesion against random concept sets of the same size (Holm across clusters).")
    reason: str


class FarConcept(BaseModel):
    concept: str
    cluster: str
    mate_cosine: float = Field(description="Mean cosine to its cluster-mates over the deep third.")
    mate_z: float | None = Field(None, description="mate_cosine against the mean cosine to a random set of as many other concepts (exact finite-population moments).")
    closest_cluster: str | None = Field(description="The other cluster with the highest mean cosine.")
    closest_cosine: float | None
    closest_z: float | None = Field(None, description="closest_cosine against a random set of that cluster's size.")
    closest_p: float | None = Field(None, description="Normal-approximation p of closest_z, Bonferroni over the clusters it was chosen from.")
    shared_scenarios: list[str] = Field(default_factory=list, description="Paired scenarios the concept shares with concepts of the closest cluster (a confound).")


class TextReason(BaseModel):
    kind: Literal["far-from-cluster", "low-alignment", "fragmented-concept", "near-duplicate", "lint"]
    detail: str
    value: float | None = None


class TextToRewrite(BaseModel):
    rel: str
    concept: str | None
    cluster: str | None
    alignment: float | None = Field(description="Out-of-sample (leave-one-out) deep-third alignment with its concept's direction; null for baselines and one-text concepts.")
    alignment_p: float | None = Field(None, description="Share of random same-size text sets aligning at least as well.")
    in_weak_cluster: bool = Field(False, description="The text's concept belongs to a cluster that is not cohesive in the deep third.")
    reasons: list[TextReason]


class TriageSettings(BaseModel):
    deep_layers: list[int]
    concepts_per_cluster: int
    alpha: float
    near_duplicate_cosine: float


class NotSteering(BaseModel):
    """Concepts whose vector does not raise its own words' probability at the recommended steering cell."""

    layer: int
    strength: float = Field(description="In units of the layer's mean residual norm.")
    z_threshold: float = Field(description="z against random directions of the same norm that counts as steering.")
    n_testable: int = Field(description="Concepts with single-token keywords, which the check can measure.")
    concepts: list[str]


class TriageReport(BaseModel):
    settings: TriageSettings
    weak_clusters: list[WeakCluster] = Field(description="Judged clusters whose deep-third cohesion is not above their size-matched null.")
    cohesive_clusters: list[str]
    unjudged_clusters: list[WeakCluster] = Field(default_factory=list, description="Too small to judge, or undetermined: never called weak or cohesive.")
    far_concepts: list[FarConcept]
    one_text_concepts: list[str] = Field(default_factory=list, description="Concepts with one text: their texts cannot be judged.")
    unconvincing_texts: int = Field(
        0, description="Texts whose leave-one-out alignment is above the random-set median but not significantly (alpha <= p < 0.5): not listed."
    )
    texts: list[TextToRewrite] = Field(description="Lowest out-of-sample alignment first; texts without one last.")
    leaky_concepts: list[LensFlag] = Field(
        default_factory=list,
        description="Concepts whose logit lens mostly promotes pronouns, punctuation or template tokens (analyses.json lens.flags): narrator or format leakage.",
    )
    not_steering: NotSteering | None = Field(
        None, description="From steering.json when `amygdala steer --check` has run: concepts whose vectors do not steer."
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
