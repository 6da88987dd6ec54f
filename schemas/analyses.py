"""analyses.json: the researcher's analyses of a run's concept vectors.

Logit lens, valence and arousal (principal components and the circumplex), unsupervised structure
(hierarchical clustering and k-means against the manifest clusters), the most similar and most
opposed pairs, and stability across layers. Per-layer numbers are lists aligned with ``layers``.
docs/analyses.md says how to read each one and what its null is.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

TokenKind = Literal["pronoun", "punctuation", "template"]


# --------------------------------------------------------------------------- logit lens


class LensToken(BaseModel):
    token: str = Field(description="The decoded token, as the tokenizer writes it.")
    logit: float = Field(description="Logit of the token for the unit direction after the final norm's gain.")
    kind: TokenKind | None = Field(None, description="pronoun / punctuation / template when the token is one (leakage markers).")


class LensConcept(BaseModel):
    top: list[LensToken] = Field(description="Highest logits first.")
    bottom: list[LensToken] = Field(description="Lowest logits first.")
    leak_share: float = Field(description="Share of the top tokens that are pronouns, punctuation or template tokens.")
    flagged: bool = Field(description="leak_share reaches the flag share: the direction mostly promotes narrator or format tokens.")


class LensLayer(BaseModel):
    layer: int
    concepts: dict[str, LensConcept]


class LensFlag(BaseModel):
    concept: str
    layer: int
    leak_share: float
    tokens: list[str] = Field(description="The flagged top tokens.")


class LensReport(BaseModel):
    model: str = Field(description="Folder the unembedding and final norm were read from.")
    unembedding: str = Field(description="Tensor used as the unembedding.")
    norm: str = Field(description="How the final norm was applied: 'rms gain', 'layernorm (centred, gain)', or 'none'.")
    vocab_size: int
    top_k: int
    flag_share: float = Field(description="A concept is flagged when at least this share of its top_k tokens are leakage markers.")
    random_flag_rate: float = Field(description="Share of random unit directions flagged by the same rule: the chance rate.")
    random_leak_share: float = Field(description="Mean leak_share of those random directions.")
    random_directions: int
    layers: list[LensLayer] = Field(description="The layers the lens was run at (by default only the report layer; the cost is a vocab-sized product per vector).")
    flags: list[LensFlag] = Field(description="Every flagged (concept, layer), highest leak_share first.")


# --------------------------------------------------------------------------- valence and arousal


class AxisCorrelation(BaseModel):
    r: float = Field(description="Pearson correlation between the component's scores and the coded rating over the rated concepts.")
    p_value: float = Field(description="Two-sided permutation p: ratings permuted across concepts, (1 + #|r_perm| >= |r|) / (1 + permutations).")
    n: int = Field(description="Concepts with a rating.")


class BestComponent(BaseModel):
    component: int = Field(description="1-based principal component with the largest |r| among the first components searched.")
    r: float
    p_value: float = Field(description="Permutation p of the maximum |r| over the searched components (corrected for the choice).")


class AffectLayer(BaseModel):
    layer: int
    variance_explained: list[float] = Field(description="Share of the centred concept vectors' variance on PC1..PC5.")
    pc1_valence: AxisCorrelation | None
    pc2_valence: AxisCorrelation | None
    pc1_arousal: AxisCorrelation | None
    pc2_arousal: AxisCorrelation | None
    best_valence: BestComponent | None
    best_arousal: BestComponent | None


class CircumplexPoint(BaseModel):
    concept: str
    cluster: str
    x: float = Field(description="Projection on the component best aligned with valence, signed so positive concepts lie right.")
    y: float = Field(description="Projection on the component best aligned with arousal (another one), signed so high arousal lies up.")


class AffectReport(BaseModel):
    coding: dict[str, dict[str, float]] = Field(description="Numbers the ratings are coded as: valence and arousal.")
    components_searched: int
    permutations: int
    seed: int
    n_valence: int
    n_arousal: int
    layers: list[AffectLayer]
    circumplex_layer: int
    circumplex_axes: tuple[int, int] = Field(description="1-based components on x (valence) and y (arousal) at circumplex_layer.")
    circumplex: list[CircumplexPoint]


# --------------------------------------------------------------------------- unsupervised structure


class AgreementLayer(BaseModel):
    layer: int
    ari: float = Field(description="Adjusted Rand index between the recovered groups and the manifest clusters (0 = chance, 1 = identical).")
    null_mean: float
    null_high: float = Field(description="95th percentile of the permutation null.")
    p_value: float = Field(description="(1 + #ARI_perm >= ARI) / (1 + permutations); manifest labels permuted across concepts.")


class RecoveredGroup(BaseModel):
    group: int
    members: list[str]
    clusters: dict[str, int] = Field(description="How many members come from each manifest cluster, largest first.")
    majority: str
    purity: float = Field(description="Share of members from the majority cluster.")


class ClusterFate(BaseModel):
    cluster: str
    size: int
    groups: dict[str, int] = Field(description="Recovered group (as a string) -> members of this cluster in it.")
    verdict: Literal["kept", "split", "merged", "split and merged", "scattered"]


class StructureReport(BaseModel):
    n_groups: int = Field(description="Groups cut from the tree and k-means k: the number of manifest clusters in the run.")
    permutations: int
    seed: int
    hierarchical: list[AgreementLayer] = Field(description="Average linkage on cosine distance, cut into n_groups.")
    kmeans: list[AgreementLayer] = Field(description="k-means on the unit vectors (one seeded k-means++ start).")
    report_layer: int
    groups: list[RecoveredGroup] = Field(description="The hierarchical groups at the report layer.")
    fates: list[ClusterFate] = Field(description="What the hierarchical grouping did with each manifest cluster at the report layer.")


class Pair(BaseModel):
    a: str
    b: str
    cosine: float
    same_cluster: bool


class PairsReport(BaseModel):
    layer: int
    n: int = Field(description="Pairs listed on each side.")
    similar: list[Pair]
    opposed: list[Pair]
    similar_same_share: float
    opposed_same_share: float
    chance_same_share: float = Field(description="Share of all concept pairs that are in the same cluster.")
    similar_p_value: float = Field(description="Hypergeometric P(at least this many same-cluster pairs among n drawn from all pairs).")


class StabilityReport(BaseModel):
    layers: list[int]
    report_layer: int
    adjacent_mean: list[float | None] = Field(description="Mean over concepts of cosine(vector at layer, vector at the previous layer); null for the first layer.")
    adjacent_min: list[float | None]
    to_report_mean: list[float] = Field(description="Mean over concepts of cosine(vector at layer, vector at the report layer).")
    geometry_adjacent: list[float | None] = Field(description="Pearson r between the off-diagonal cosine matrices of a layer and the previous one.")
    geometry_to_report: list[float | None] = Field(description="Pearson r between the off-diagonal cosine matrices of a layer and the report layer; null with geometry_reason.")
    settle_threshold: float
    settled_from: int | None = Field(description="Earliest layer from which geometry_to_report stays at or above settle_threshold up to the report layer: where the geometry has settled into its report-layer shape; null with geometry_reason.")
    geometry_reason: str | None = Field(None, description="Why the cosine-matrix correlations are missing (too few concepts).")


class AnalysesReport(BaseModel):
    layers: list[int]
    report_layer: int
    n_concepts: int
    lens: LensReport | None
    lens_reason: str | None = Field(None, description="Why the logit lens is missing.")
    affect: AffectReport | None
    affect_reason: str | None = None
    structure: StructureReport | None
    structure_reason: str | None = None
    pairs: PairsReport | None
    stability: StabilityReport
    timings: dict[str, float] = Field(default_factory=dict, description="Seconds per analysis.")
