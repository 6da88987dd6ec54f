"""triage.md and report.html, rendered from the Jinja2 templates in ``trainer/report/templates``.

report.html is one self-contained file (PNGs inlined) that opens offline, built from ``SECTIONS``:
each entry turns the reports of a run into a ``Section`` (a partial under
``templates/sections/`` and its typed context) or None when it has nothing to show. A new report
adds one partial and one entry. Numbers and labels read as ``trainer.report.formatting`` writes them.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

from schemas.analyses import AffectReport, AnalysesReport, LensReport, PairsReport, StabilityReport, StructureReport
from schemas.analysis import (
    ClusterValidation,
    ConceptQuality,
    DownProjectionSource,
    NullTest,
    ProbeLayer,
    ProbeResult,
    QualityReport,
    QualityThresholds,
    TextToRewrite,
    ThirdSummary,
    TriageReport,
    ValenceLayer,
    ValidationReport,
    ValidationThresholds,
    WeakCluster,
)
from trainer.report import formatting
from trainer.runfolder.data import RunData
from trainer.analysis.triage import far_detail
from trainer.report.wording import adjusted_p, confound_lines, probe_lines

TEMPLATES = Path(__file__).parent / "templates"


@lru_cache(maxsize=1)
def environment() -> Any:
    """The Jinja2 environment: HTML templates autoescaped, markdown not; missing names are errors."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
    from markupsafe import Markup, escape

    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html.j2"], default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        signed=formatting.signed,
        unsigned=formatting.unsigned,
        percent=formatting.percent,
        dash=formatting.text_or_dash,
        span=formatting.layer_span,
        html_label=lambda label: Markup(f'<span class="{escape(label).replace(" ", "-")}">{escape(label)}</span>'),
        adjusted_p=adjusted_p,
        bold=lambda line: Markup(re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", str(escape(line)))),
        pvalue=formatting.p_value,
        p_against_null=formatting.p_against_null,
        token=lambda token: repr(token)[1:-1],  # quotes off; white space and control characters visible
    )
    return env


# --------------------------------------------------------------------------- contexts


@dataclass(frozen=True)
class ClusterRow:
    name: str
    n_concepts: int
    early: ThirdSummary | None
    middle: ThirdSummary | None
    deep: ThirdSummary | None


def cluster_rows(clusters: dict[str, ClusterValidation]) -> list[ClusterRow]:
    return [
        ClusterRow(name, len(c.concepts), c.thirds.get("early"), c.thirds.get("middle"), c.thirds.get("deep"))
        for name, c in clusters.items()
    ]


@dataclass(frozen=True)
class ReportInputs:
    """Everything a section may draw on."""

    run: RunData
    quality: QualityReport
    validation: ValidationReport
    triage: TriageReport
    images: dict[str, Path]
    analyses: AnalysesReport | None = None


@dataclass(frozen=True)
class Section:
    template: str  # file name under templates/sections/
    context: Any  # the dataclass the partial reads as ``s``


@dataclass(frozen=True)
class HeaderContext:
    name: str
    model: str
    n_concepts: int
    n_texts: int
    layers: list[int]
    deep: list[int]
    report_layer: int


@dataclass(frozen=True)
class ClustersContext:
    thresholds: ValidationThresholds
    rows: list[ClusterRow]
    weak: list[WeakCluster]
    unjudged: list[WeakCluster]
    far: list[str]  # plain-language lines with their evidence


@dataclass(frozen=True)
class TextsContext:
    texts: list[TextToRewrite]
    one_text: int
    loo_draws: int  # the leave-one-out null's draws: the floor of a text's alignment p


@dataclass(frozen=True)
class Image:
    title: str
    base64: str
    wide: bool = False  # shown full size in a scrollable box (the named heat map)


WIDE_PNG = 1400  # pixels


def png_width(data: bytes) -> int:
    """Width from a PNG's IHDR chunk."""
    return int.from_bytes(data[16:20], "big")


@dataclass(frozen=True)
class PicturesContext:
    images: list[Image]


@dataclass(frozen=True)
class ProbeRow:
    layer: int
    probe: ProbeLayer | None
    valence: ValenceLayer | None


@dataclass(frozen=True)
class ProbesContext:
    probe: ProbeResult | None
    probe_reason: str | None
    valence_reason: str | None  # set when there is no valence analysis
    valence_permutations: int
    rows: list[ProbeRow]


@dataclass(frozen=True)
class QualityFlagsContext:
    thresholds: QualityThresholds
    redundancy_null: NullTest | None
    down_projection: DownProjectionSource
    flagged: list[tuple[str, ConceptQuality]]


@dataclass(frozen=True)
class ConfoundsContext:
    probe_lines: list[str]
    confound_lines: list[str]


def header(r: ReportInputs) -> Section:
    return Section(
        "header.html.j2",
        HeaderContext(
            name=r.run.root.name,
            model=r.run.info.model.name,
            n_concepts=len(r.run.concepts),
            n_texts=len(r.run.texts),
            layers=r.run.layers,
            deep=r.validation.thirds["deep"],
            report_layer=r.quality.report_layer,
        ),
    )


def clusters(r: ReportInputs) -> Section:
    return Section(
        "clusters.html.j2",
        ClustersContext(
            r.validation.thresholds,
            cluster_rows(r.validation.clusters),
            r.triage.weak_clusters,
            r.triage.unjudged_clusters,
            [far_detail(f) for f in r.triage.far_concepts],
        ),
    )


def texts(r: ReportInputs) -> Section:
    return Section("texts.html.j2", TextsContext(r.triage.texts, len(r.triage.one_text_concepts), r.quality.thresholds.null_draws))


def confounds(r: ReportInputs) -> Section:
    return Section("confounds.html.j2", ConfoundsContext(probe_lines(r.validation), confound_lines(r.validation)))


def pictures(r: ReportInputs) -> Section:
    from trainer.runfolder.folder import RunFolder

    images = []
    for title, path in r.images.items():
        data = RunFolder.read_bytes(path.parent, path.name)
        images.append(Image(title, base64.b64encode(data).decode("ascii"), png_width(data) > WIDE_PNG))
    return Section("pictures.html.j2", PicturesContext(images))


def probes(r: ReportInputs) -> Section:
    v = r.validation
    probe_layers = {p.layer: p for p in v.cluster_probe.layers} if v.cluster_probe else {}
    valence = {x.layer: x for x in v.valence or []}
    return Section(
        "probes.html.j2",
        ProbesContext(
            probe=v.cluster_probe,
            probe_reason=v.cluster_probe_reason,
            valence_reason=(v.valence_reason or "") if v.valence is None else None,
            valence_permutations=v.thresholds.permutations,
            rows=[ProbeRow(layer, probe_layers.get(layer), valence.get(layer)) for layer in v.layers],
        ),
    )


def quality_flags(r: ReportInputs) -> Section:
    q = r.quality
    flagged = [
        (name, c)
        for name, c in q.concepts.items()
        if c.shape == "fragmented" or (c.redundancy and c.redundancy.redundant) or (c.single_neuron and c.single_neuron.one_neuron)
    ]
    return Section("quality_flags.html.j2", QualityFlagsContext(q.thresholds, q.redundancy_null, q.down_projection, flagged))


@dataclass(frozen=True)
class EvaluationContext:
    report: Any  # schemas.evaluation.EvalReport
    picture: str | None  # base64 PNG of accuracy by layer


@dataclass(frozen=True)
class SteeringContext:
    report: Any  # schemas.evaluation.SteeringReport
    picture: str | None  # base64 PNG of the heat map


def _picture(r: ReportInputs, name: str) -> str | None:
    from base.errors import AmygdalaError
    from trainer.runfolder.folder import RunFolder

    try:
        return base64.b64encode(RunFolder.read_bytes(r.run.root, name)).decode("ascii")
    except AmygdalaError:  # the JSON without its picture: the section still shows the numbers
        return None


def evaluation(r: ReportInputs) -> Section | None:
    """eval.json, when `amygdala eval` has run on the folder."""
    from schemas.evaluation import EvalReport
    from trainer.runfolder.folder import EVAL, EVAL_PNG, RunFolder

    report = RunFolder.read_report(r.run.root, EVAL, EvalReport)
    return None if report is None else Section("evaluation.html.j2", EvaluationContext(report, _picture(r, EVAL_PNG)))


def steering(r: ReportInputs) -> Section | None:
    """steering.json, when `amygdala steer --check` (or `train --steer-check`) has run on the folder."""
    from schemas.evaluation import SteeringReport
    from trainer.runfolder.folder import STEERING, STEERING_PNG, RunFolder

    report = RunFolder.read_report(r.run.root, STEERING, SteeringReport)
    return None if report is None else Section("steering.html.j2", SteeringContext(report, _picture(r, STEERING_PNG)))


@dataclass(frozen=True)
class LensContext:
    lens: LensReport | None
    reason: str | None
    n_checked: int
    order: list[str]  # concepts by cluster, then name
    cluster_of: dict[str, str]


@dataclass(frozen=True)
class AffectContext:
    affect: AffectReport | None
    reason: str | None


@dataclass(frozen=True)
class StructureContext:
    structure: StructureReport | None
    reason: str | None


@dataclass(frozen=True)
class PairsContext:
    pairs: PairsReport


@dataclass(frozen=True)
class StabilityContext:
    stability: StabilityReport


def lens(r: ReportInputs) -> Section | None:
    a = r.analyses
    if a is None:
        return None
    cluster_of = dict(zip(r.run.concepts, r.run.clusters))
    order = sorted(r.run.concepts, key=lambda c: (cluster_of[c], c))
    checked = a.n_concepts * len(a.lens.layers) if a.lens else 0
    return Section("lens.html.j2", LensContext(a.lens, a.lens_reason, checked, order, cluster_of))


def affect(r: ReportInputs) -> Section | None:
    return None if r.analyses is None else Section("affect.html.j2", AffectContext(r.analyses.affect, r.analyses.affect_reason))


def structure(r: ReportInputs) -> Section | None:
    return None if r.analyses is None else Section("structure.html.j2", StructureContext(r.analyses.structure, r.analyses.structure_reason))


def pairs(r: ReportInputs) -> Section | None:
    return None if r.analyses is None or r.analyses.pairs is None else Section("pairs.html.j2", PairsContext(r.analyses.pairs))


def stability(r: ReportInputs) -> Section | None:
    return None if r.analyses is None else Section("stability.html.j2", StabilityContext(r.analyses.stability))


# The sections of report.html, in order.
SECTIONS: list[Callable[[ReportInputs], Section | None]] = [
    header, clusters, confounds, texts, pictures, probes, quality_flags, lens, affect, structure, pairs, stability, evaluation, steering
]


# --------------------------------------------------------------------------- rendering


def render_html(
    run: RunData,
    quality: QualityReport,
    validation: ValidationReport,
    triage: TriageReport,
    images: dict[str, Path],
    analyses: AnalysesReport | None = None,
) -> str:
    inputs = ReportInputs(run, quality, validation, triage, images, analyses)
    sections = [s for build in SECTIONS if (s := build(inputs)) is not None]
    return environment().get_template("report.html.j2").render(title=run.root.name, sections=sections)


def render_markdown(triage: TriageReport, validation: ValidationReport) -> str:
    clusters = [row for row in cluster_rows(validation.clusters) if row.deep is not None]
    return environment().get_template("triage.md.j2").render(
        triage=triage,
        thresholds=validation.thresholds,
        clusters=clusters,
        probe_lines=probe_lines(validation),
        confound_lines=confound_lines(validation),
        far_lines=[far_detail(f) for f in triage.far_concepts],
    )
