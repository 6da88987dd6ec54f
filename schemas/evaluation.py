"""What ``amygdala readout``, ``eval`` and ``steer --check`` write: readout JSON, eval.json, steering.json.

Per-layer numbers are lists aligned with the report's ``layers``; z-scores are against the run's own
corpus (readout, eval) or against random directions of the same norm (steering).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from schemas.run import CacheStats

# --------------------------------------------------------------------------- readout


class ConceptScore(BaseModel):
    concept: str
    cluster: str
    z: float = Field(description="Projection on the concept's unit vector as a z-score against the run's corpus texts.")


class ReadoutText(BaseModel):
    source: str = Field(description="Where the text came from: 'argument', a file path, or '<file>:<line>' of a JSONL file.")
    top: list[ConceptScore] = Field(description="Highest z-scores at the report's display_layer, best first.")
    z: list[list[float]] = Field(description="[layer][concept] z-scores, aligned with the report's layers and concepts.")


class ReadoutReport(BaseModel):
    run: str
    layers: list[int]
    concepts: list[str]
    display_layer: int = Field(description="The layer whose z-scores pick `top`: the middle of the deep third of `layers`, declared in advance.")
    n_reference: int = Field(description="Corpus texts the per-layer, per-concept mean and sd of the projections come from.")
    cache: CacheStats
    texts: list[ReadoutText]


# --------------------------------------------------------------------------- eval.json


class Estimate(BaseModel):
    value: float = Field(description="Share of evaluated texts.")
    ci_low: float
    ci_high: float
    n: int = Field(description="Texts the share is over.")


class LayerAccuracy(BaseModel):
    layer: int
    top1: Estimate
    top5: Estimate


class ClusterAccuracy(BaseModel):
    cluster: str
    n: int = Field(description="Evaluated texts whose true concept is in this cluster.")
    top1: float
    top5: float
    cluster_top1: float = Field(description="Share whose top-1 concept is in the right cluster.")


class Confusion(BaseModel):
    clusters: list[str]
    matrix: list[list[int]] = Field(description="[true cluster][cluster of the top-1 concept], counts of texts.")


class EvalReport(BaseModel):
    """eval.json: does the readout name the right concept for text it did not train on?"""

    run: str
    mode: Literal["labelled", "cv"]
    source: str = Field(description="The labelled JSONL file, or the run's corpus for --cv.")
    cv_scheme: str | None = Field(None, description="How --cv holds texts out.")
    n_labelled: int = Field(description="Labelled texts read.")
    n_evaluated: int
    skipped: dict[str, int] = Field(description="Texts not evaluated, by reason.")
    outside_labels: dict[str, int] = Field(description="Labels that are not concepts of the run, with their count (skipped).")
    candidates: list[str] = Field(description="The run's concepts present in the labels: the set each text's concept is ranked among.")
    chance_top1: float = Field(description="1 / number of candidates.")
    chance_top5: float = Field(description="min(5, candidates) / candidates.")
    chance_cluster: float = Field(description="Cluster accuracy of a random ranking over the candidates, for these labels.")
    bootstrap: str = Field(description="How the confidence intervals were resampled.")
    layers: list[int]
    per_layer: list[LayerAccuracy]
    headline_layer: int = Field(description="Declared before looking: the middle of the deep third of `layers`.")
    headline: LayerAccuracy
    cluster_top1: Estimate = Field(description="At the headline layer: the top-1 concept is in the true concept's cluster.")
    best_layer: int = Field(description="Layer with the highest top-1: EXPLORATORY, a selected maximum, not corrected.")
    per_cluster: list[ClusterAccuracy] = Field(description="At the headline layer.")
    confusion: Confusion = Field(description="At the headline layer.")


# --------------------------------------------------------------------------- steering.json


class SteeringCell(BaseModel):
    layer: int
    strength: float = Field(description="Multiple of the layer's mean residual norm (run.json extraction.mean_norm).")
    median_z: float = Field(description="Median over testable concepts of the z-score against random directions.")
    share_steering: float = Field(description="Share of testable concepts with z >= the report's z_threshold.")
    random_logprob_drop: float = Field(
        description="Mean over random directions and prompts of the fall in log-probability of the unsteered greedy next token: how much a direction of this norm disturbs the model by itself."
    )


class ConceptSteering(BaseModel):
    concept: str
    cluster: str
    tokens: list[str] = Field(description="Single-token forms of the concept's keyword family that are scored.")
    score: list[list[float]] = Field(description="[layer][strength]: change in own-family log-probability minus the mean change for the other clusters' families (nats).")
    z: list[list[float]] = Field(description="[layer][strength]: score against the same score under random directions of equal norm.")
    steers: bool = Field(description="z >= z_threshold at the recommended layer and strength.")


class ClusterSteering(BaseModel):
    cluster: str
    n: int
    median_z: float = Field(description="At the recommended cell.")
    share_steering: float


class Recommendation(BaseModel):
    layers: list[int] = Field(description="Layers whose median z at the recommended strength is at least half the best cell's.")
    layer: int
    strength: float
    median_z: float


class SteeringReport(BaseModel):
    """steering.json: does adding a concept's vector raise the probability of the concept's own words?"""

    run: str
    prompts: list[str]
    layers: list[int]
    strengths: list[float]
    n_random: int
    seed: int
    z_threshold: float
    cells: list[SteeringCell]
    concepts: list[ConceptSteering]
    clusters: list[ClusterSteering]
    recommended: Recommendation
    not_steering: list[str] = Field(description="Testable concepts below z_threshold at the recommended cell.")
    untestable: list[str] = Field(description="Concepts whose keyword family has no single-token form in this tokenizer.")
    seconds: float
