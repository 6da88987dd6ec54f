"""Compare two runs: deep-third cohesion per cluster (with label flips), per-concept quality, changed texts.

The loop it serves: triage names texts, the writer rewrites them, ``amygdala train`` again, and
``amygdala compare OLD NEW`` shows whether the weak clusters flipped.
"""

from __future__ import annotations

from pathlib import Path

from schemas.analysis import (
    ClusterChange,
    ComparisonReport,
    ConceptChange,
    ConceptQuality,
    QualityReport,
    TextChanges,
    ValidationReport,
)
from schemas.run import RunInfo, TextRecord

SETUP_KEYS = ("method", "pool", "skip_tokens", "chat_template", "dtype", "layers", "denoise_neutral")


def _diff(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else round(b - a, 5)


def _mean_alignment(concept: ConceptQuality | None) -> float | None:
    """Mean leave-one-out alignment of the concept's texts; None when it cannot be judged out of
    sample (one text defines its own direction, so its in-sample cosine says nothing)."""
    values = [t.loo for t in concept.alignment if t.loo is not None] if concept is not None else []
    return round(sum(values) / len(values), 5) if values else None


def _judged_first_pc(concept: ConceptQuality | None) -> float | None:
    """The deep first-PC ratio where it is judged against its null (enough texts); below that it is
    near 1 by construction and comparing it says nothing."""
    return concept.first_pc_deep if concept is not None and concept.first_pc_test is not None else None


def _setup_notes(info_a: RunInfo, info_b: RunInfo) -> list[str]:
    """run.json differences that make the two runs' numbers less comparable."""
    notes = []
    if (info_a.model.identity, info_a.model.revision) != (info_b.model.identity, info_b.model.revision):
        notes.append("the runs used different models (or model revisions): cohesion is not comparable across models")
    for key in SETUP_KEYS:
        before, after = getattr(info_a.config, key), getattr(info_b.config, key)
        if before != after:
            notes.append(f"{key} differs: {before!r} -> {after!r}")
    return notes


def compare_reports(
    name_a: str,
    name_b: str,
    reports_a: tuple[QualityReport, ValidationReport, list[TextRecord], RunInfo],
    reports_b: tuple[QualityReport, ValidationReport, list[TextRecord], RunInfo],
) -> ComparisonReport:
    """Pure comparison of (quality, validation, texts, run_info) of two runs."""
    qa, va, texts_a, info_a = reports_a
    qb, vb, texts_b, info_b = reports_b
    notes = _setup_notes(info_a, info_b)
    if va.thirds["deep"] != vb.thirds["deep"]:
        notes.append(f"deep thirds differ: layers {va.thirds['deep']} -> {vb.thirds['deep']}")

    clusters = []
    for name in dict.fromkeys([*va.clusters, *vb.clusters]):
        sa = va.clusters[name].thirds.get("deep") if name in va.clusters else None
        sb = vb.clusters[name].thirds.get("deep") if name in vb.clusters else None
        before, after = (sa.cohesion if sa else None), (sb.cohesion if sb else None)
        la, lb = (sa.label if sa else None), (sb.label if sb else None)
        clusters.append(
            ClusterChange(
                cluster=name,
                before=before,
                after=after,
                delta=_diff(before, after),
                label_before=la,
                label_after=lb,
                flip=f"{la} -> {lb}" if la and lb and la != lb else None,
            )
        )
    clusters.sort(key=lambda c: (c.flip is None, -(c.delta or 0.0)))

    concepts = []
    for name in dict.fromkeys([*qa.concepts, *qb.concepts]):
        ca, cb = qa.concepts.get(name), qb.concepts.get(name)
        concepts.append(
            ConceptChange(
                concept=name,
                first_pc_before=_judged_first_pc(ca),
                first_pc_after=_judged_first_pc(cb),
                alignment_before=_mean_alignment(ca),
                alignment_after=_mean_alignment(cb),
                redundancy_before=ca.redundancy.r2 if ca and ca.redundancy else None,
                redundancy_after=cb.redundancy.r2 if cb and cb.redundancy else None,
            )
        )
    concepts.sort(key=lambda c: -abs(_diff(c.alignment_before, c.alignment_after) or 0.0))

    hashes_a = {t.rel: t.sha256 for t in texts_a}
    hashes_b = {t.rel: t.sha256 for t in texts_b}
    texts = TextChanges(
        added=sorted(set(hashes_b) - set(hashes_a)),
        removed=sorted(set(hashes_a) - set(hashes_b)),
        changed=sorted(rel for rel in set(hashes_a) & set(hashes_b) if hashes_a[rel] != hashes_b[rel]),
        unchanged=sum(1 for rel in set(hashes_a) & set(hashes_b) if hashes_a[rel] == hashes_b[rel]),
    )
    return ComparisonReport(run_a=name_a, run_b=name_b, notes=notes, clusters=clusters, concepts=concepts, texts=texts)


def compare_runs(run_a: Path, run_b: Path) -> ComparisonReport:
    """Compare two run folders, reading their quality and validation or computing them when missing."""
    from trainer.analysis.pipeline import load_reports

    run_data_a, qa, va = load_reports(run_a)
    run_data_b, qb, vb = load_reports(run_b)
    return compare_reports(
        str(run_a),
        str(run_b),
        (qa, va, run_data_a.texts, run_data_a.info),
        (qb, vb, run_data_b.texts, run_data_b.info),
    )
