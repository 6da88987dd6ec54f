"""Which concepts and clusters the corpus covers, and whether that meets a required bar.

A canonical concept counts as covered when it has at least one story: a concept known
only from paired variants carries the scenes it was written in. A cluster counts as
paired when some scenario with a baseline holds a variant of one of its concepts.
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

from schemas.finding import NextInCluster, WriteNext
from schemas.manifest import Manifest
from schemas.reports import (
    ClusterCoverage,
    ConceptCoverage,
    CoverageReport,
    RequirementResult,
    ScenarioCoverage,
)
from toolkit.corpus import Corpus
from base.errors import AmygdalaError

REQUIRE_ALL = "all"
REQUIRE_CLUSTERS = "clusters"
_PERCENT = re.compile(r"^(\d+(?:\.\d+)?)%?$")
_LISTED = 8
def no_bar(config: Path | None) -> str:
    """The line for a report without a bar, naming the table to set it in for this project's configuration."""
    if config is None:
        where = "[coverage] of amygdala.toml, or [tool.amygdala.coverage] of pyproject.toml"
    elif config.name == "amygdala.toml":
        where = f"[coverage] of {config.name}"
    else:
        where = f"[tool.amygdala.coverage] of {config.name}"
    return f"no bar set (pass --require, or set require in {where}): information only"


def parse_requirement(value: str) -> str:
    """Normalise ``all``, ``clusters``, ``80`` or ``80%``; anything else is a usage error."""
    value = value.strip().lower()
    if value in (REQUIRE_ALL, REQUIRE_CLUSTERS):
        return value
    match = _PERCENT.match(value)
    if match is None or not 0 <= float(match.group(1)) <= 100:
        raise AmygdalaError(f"--require {value!r}: expected all, clusters or a percentage from 0 to 100")
    return f"{float(match.group(1)):g}%"


def _names(items: list[str]) -> str:
    shown = ", ".join(items[:_LISTED])
    return shown + (f" and {len(items) - _LISTED} more" if len(items) > _LISTED else "")


def _concepts(corpus: Corpus) -> list[ConceptCoverage]:
    stories: dict[str, int] = defaultdict(int)
    variants: dict[str, int] = defaultdict(int)
    scenarios: dict[str, list[str]] = defaultdict(list)
    # An empty file (what `amygdala new` creates) is a story to write, not coverage.
    for text in corpus.stories:
        if not text.is_blank:
            stories[text.label] += 1
    for scenario in corpus.scenarios:
        for text in scenario.variants:
            if not text.is_blank:
                variants[text.label] += 1
                scenarios[text.label].append(scenario.slug)
    out = []
    for name, concept in corpus.manifest.concepts.items():
        where = sorted(set(scenarios[name]))
        out.append(
            ConceptCoverage(
                concept=name,
                cluster=concept.cluster,
                extra=concept.extra,
                stories=stories[name],
                variants=variants[name],
                scenarios=where,
                covered=stories[name] > 0,
                single_scenario=len(where) == 1,
                scene_bound=len(where) == 1 and stories[name] == 0,
            )
        )
    return out


def _scenarios(corpus: Corpus) -> list[ScenarioCoverage]:
    known = corpus.manifest.concepts
    out = []
    for scenario in corpus.scenarios:
        concepts = [t.label for t in scenario.variants]
        clusters = sorted({known[c].cluster for c in concepts if c in known})
        out.append(
            ScenarioCoverage(
                scenario=scenario.slug,
                has_baseline=scenario.baseline is not None,
                variants=len(scenario.variants),
                concepts=concepts,
                clusters=clusters,
            )
        )
    return out


def _clusters(corpus: Corpus, concepts: list[ConceptCoverage], scenarios: list[ScenarioCoverage]) -> list[ClusterCoverage]:
    out = []
    for slug, cluster in corpus.manifest.clusters.items():
        members = [c for c in concepts if c.cluster == slug]
        canonical = [c for c in members if not c.extra]
        extras = [c for c in members if c.extra]
        out.append(
            ClusterCoverage(
                cluster=slug,
                title=cluster.title,
                canonical=len(canonical),
                canonical_with_story=sum(c.covered for c in canonical),
                canonical_with_text=sum(c.stories + c.variants > 0 for c in canonical),
                extras=len(extras),
                extras_with_text=sum(c.stories + c.variants > 0 for c in extras),
                stories=sum(c.stories for c in members),
                variants=sum(c.variants for c in members),
                paired_scenarios=[s.scenario for s in scenarios if s.has_baseline and slug in s.clusters],
                missing=[c.concept for c in canonical if not c.covered],
            )
        )
    return out


def _check(requirement: str, clusters: list[ClusterCoverage], percent: float) -> RequirementResult:
    if requirement == REQUIRE_ALL:
        missing = [name for c in clusters for name in c.missing]
        total = sum(c.canonical for c in clusters)
        detail = f"{total - len(missing)}/{total} canonical concepts have a story"
        if missing:
            detail += f"; without one: {_names(missing)}"
        return RequirementResult(requirement=requirement, met=not missing, detail=detail)
    if requirement == REQUIRE_CLUSTERS:
        no_story = [c.cluster for c in clusters if c.stories == 0]
        unpaired = [c.cluster for c in clusters if not c.paired_scenarios]
        good = sum(c.cluster not in no_story and c.cluster not in unpaired for c in clusters)
        detail = f"{good}/{len(clusters)} clusters have a story and a paired scenario"
        if no_story:
            detail += f"; no story: {_names(no_story)}"
        if unpaired:
            detail += f"; not paired: {_names(unpaired)}"
        return RequirementResult(requirement=requirement, met=not no_story and not unpaired, detail=detail)
    bar = float(requirement.rstrip("%"))
    return RequirementResult(
        requirement=requirement,
        met=percent >= bar,
        detail=f"{percent:.1f}% of canonical concepts have a story (required: {bar:g}%)",
    )


def coverage_report(corpus: Corpus, requirements: list[str] | None = None) -> CoverageReport:
    """Coverage of ``corpus`` against its manifest, judged by ``requirements``.

    With none the report is information only and passes: a bar is the project's choice
    (``--require`` or ``require`` in ``[tool.amygdala.coverage]``), not a default that fails
    every commit of a corpus still being written.
    """
    requirements = [parse_requirement(r) for r in (requirements or [])]
    concepts = _concepts(corpus)
    scenarios = _scenarios(corpus)
    clusters = _clusters(corpus, concepts, scenarios)
    canonical = [c for c in concepts if not c.extra]
    extras = [c for c in concepts if c.extra]
    with_story = sum(c.covered for c in canonical)
    percent = 100.0 * with_story / len(canonical) if canonical else 100.0
    results = [_check(r, clusters, percent) for r in dict.fromkeys(requirements)]
    return CoverageReport(
        corpus=str(corpus.root),
        manifest=str(corpus.manifest_path),
        canonical=len(canonical),
        canonical_with_story=with_story,
        canonical_with_text=sum(c.stories + c.variants > 0 for c in canonical),
        percent_with_story=round(percent, 2),
        extras=len(extras),
        extras_with_text=sum(c.stories + c.variants > 0 for c in extras),
        clusters=clusters,
        concepts=concepts,
        scenarios=scenarios,
        scene_bound=[c.concept for c in concepts if c.scene_bound],
        single_scenario=[c.concept for c in concepts if c.single_scenario],
        unknown_texts=[t.rel for t in corpus.texts() if t.concept is not None and t.concept not in corpus.manifest.concepts],
        requirements=results,
        passed=all(r.met for r in results),
    )


def markdown(report: CoverageReport, config: Path | None = None) -> str:
    """The report as GitHub-flavoured Markdown, for CI job summaries (``config``: the configuration file in use)."""
    lines = [
        "## Corpus coverage",
        "",
        f"**{report.canonical_with_story}/{report.canonical}** canonical concepts have a story "
        f"({report.percent_with_story:g}%); {report.canonical_with_text}/{report.canonical} have any text; "
        f"extras with text: {report.extras_with_text}/{report.extras}.",
        "",
    ]
    for result in report.requirements:
        mark = "passed" if result.met else "**failed**"
        lines.append(f"- `--require {result.requirement}` {mark}: {result.detail}")
    if not report.requirements:
        lines.append(f"- {no_bar(config)}")
    lines += [
        "",
        "| cluster | stories per concept | any text | extras | stories | variants | paired scenarios | missing |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for c in report.clusters:
        lines.append(
            f"| {c.title} | {c.canonical_with_story}/{c.canonical} | {c.canonical_with_text}/{c.canonical} "
            f"| {c.extras_with_text}/{c.extras} | {c.stories} | {c.variants} "
            f"| {', '.join(c.paired_scenarios) or '—'} | {', '.join(c.missing) or '—'} |"
        )
    if report.scene_bound:
        lines += ["", f"Known from one scenario only (the vector carries that scene): {', '.join(report.scene_bound)}."]
    if report.unknown_texts:
        lines += ["", f"Texts whose concept is not in the manifest: {', '.join(report.unknown_texts)}."]
    return "\n".join(lines) + "\n"


def write_next(manifest: Manifest, texts_per_concept: dict[str, int], listed: int = 3) -> WriteNext:
    """What to write next, per cluster: the concepts without a text, else the ones with the fewest.

    ``texts_per_concept`` counts non-empty texts (stories and paired variants) by concept.
    Clusters with missing concepts come first, the most missing first; then the thinnest.
    """
    clusters = []
    for slug, cluster in manifest.clusters.items():
        members = [name for name, c in manifest.concepts.items() if c.cluster == slug]
        if not members:
            continue
        counts = {name: texts_per_concept.get(name, 0) for name in members}
        missing = [name for name in members if counts[name] == 0]
        fewest = min(counts.values())
        thinnest = [] if missing else [name for name in members if counts[name] == fewest][:listed]
        clusters.append(
            NextInCluster(
                cluster=slug,
                title=cluster.title,
                concepts=len(members),
                with_text=len(members) - len(missing),
                missing=missing,
                thinnest=thinnest,
                fewest=fewest,
            )
        )
    clusters.sort(key=lambda c: (-len(c.missing), c.fewest, c.cluster))
    return WriteNext(
        concepts=sum(c.concepts for c in clusters),
        with_text=sum(c.with_text for c in clusters),
        clusters=clusters,
    )


def write_next_line(summary: WriteNext, listed: int = 3) -> str:
    """The summary in one line (CV001's message): the clusters still missing concepts, a few names each."""
    missing = [c for c in summary.clusters if c.missing]
    parts = []
    for c in missing:
        names = ", ".join(c.missing[:listed]) + (f" +{len(c.missing) - listed}" if len(c.missing) > listed else "")
        parts.append(f"{c.cluster} {c.with_text}/{c.concepts} ({names})")
    without = summary.concepts - summary.with_text
    return f"what to write next: {without} of {summary.concepts} concepts have no text yet; " + "; ".join(parts)
