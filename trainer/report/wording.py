"""How the validation and the analyses read: the sentences of the probes, the valence axis, the
confounds, a cluster's cohesion test and the one-line summaries of analyses.json, the same in the
terminal, triage.md, report.html and the reasons triage records.

Each function takes the typed report (``ValidationReport`` or one of its parts) and returns text;
nothing here computes a statistic (they come from ``trainer.analysis``), and every p-value reads
as ``trainer.stats.format_p`` writes it. Lines may hold ``**bold**``, which the HTML renders and
the terminal drops.
"""

from __future__ import annotations

from schemas.analyses import AnalysesReport
from schemas.analysis import NullTest, PairCell, ProbeResult, ValidationReport
from trainer.stats import format_adjusted_p, format_p

MISSING = "–"


def adjusted_p(test: NullTest) -> str:
    """A cluster's Holm-adjusted two-sided p; "≤" when the raw p sits at the permutation floor
    (the adjusted value is then a bound)."""
    return format_adjusted_p(test.p_adjusted, test.p, test.permutations, sides=2)


def describe_cluster_test(label: str, test: NullTest, n: int) -> str:
    """Plain-language reason with the evidence: value, size-matched null, z, p."""
    where = {"scattered": "cannot be told from", "anti-clustered": "is below"}.get(label, "is above")
    p = adjusted_p(test) if test.p_adjusted is not None else format_p(test.p, test.permutations, sides=2)
    return (
        f"deep-third cohesion {test.value:+.3f} {where} random sets of {n} concepts "
        f"(null mean {test.null_mean:+.3f}, 95% {test.null_low:+.3f} to {test.null_high:+.3f}; z {test.z:+.1f}, {p} Holm-adjusted, "
        f"{test.permutations} permutations)"
    )


def probe_lines(validation: ValidationReport) -> list[str]:
    """The cluster probe's headline and best layer, and the concept probe."""
    probe = validation.cluster_probe
    if probe is None:
        return [f"Cluster probe: {validation.cluster_probe_reason or 'not run'}."]
    return [cluster_probe_headline(probe), cluster_probe_best_layer(probe), concept_probe_line(validation)]


def cluster_probe_headline(probe: ProbeResult) -> str:
    s = probe.settings
    h = probe.headline
    if h is None:
        return f"Cluster probe headline: {probe.headline_reason}."
    head = next(x for x in probe.layers if x.layer == s.headline_layers[0])
    return (
        f"Cluster probe (pre-declared layer{'s' if len(h.layers) > 1 else ''} {', '.join(map(str, h.layers))}): logistic regression "
        f"{h.accuracy:.1%} (95% CI {h.ci_low:.1%}–{h.ci_high:.1%}, bootstrap over concepts), ridge classifier {h.ridge_accuracy:.1%}"
        f"{'' if head.cv_seed_sd is None else f' (±{head.cv_seed_sd:.1%} over {s.cv_seeds} fold seeds)'}; "
        f"chance {head.chance:.1%}, permutation null {head.null_mean:.1%} (95th percentile {head.null_95:.1%}); "
        f"{format_p(h.p_ridge, s.permutations) if h.p_ridge is not None else 'no permutation test'}; "
        f"{probe.n_texts} texts of {probe.n_units} concepts in {probe.n_classes} clusters, {s.folds} folds by concept."
    )


def cluster_probe_best_layer(probe: ProbeResult) -> str:
    best = next(x for x in probe.layers if x.layer == probe.best_layer)
    permutations = probe.settings.permutations
    return (
        f"Best layer (exploratory, chosen after the fact): {best.layer}, ridge {best.accuracy:.1%} "
        f"(CI {best.ci_low:.1%}–{best.ci_high:.1%}), "
        f"{format_p(best.p_family, permutations) if best.p_family is not None else 'no test'} corrected for choosing among {len(probe.layers)} layers."
    )


def concept_probe_line(validation: ValidationReport) -> str:
    concept = validation.concept_probe
    if concept is None:
        return f"Concept probe: {validation.concept_probe_reason or 'not run'}."
    c = next(x for x in concept.layers if x.layer == concept.settings.headline_layers[0])
    h = concept.headline
    lr = f"logistic regression {h.accuracy:.1%} (CI {h.ci_low:.1%}–{h.ci_high:.1%}), " if h else ""
    return (
        f"Concept probe (layer {c.layer}): {lr}ridge {c.accuracy:.1%} (CI {c.ci_low:.1%}–{c.ci_high:.1%}), chance {c.chance:.1%}; "
        f"{concept.n_texts} texts, {concept.n_classes} concepts, folds keep each paired scenario together."
    )


def valence_line(validation: ValidationReport) -> str | None:
    """Whether PC1 of the concept directions splits positive from negative, at the deep layers and at its best layer."""
    if not validation.valence:
        return None if validation.valence_reason is None else f"PC1 valence: {validation.valence_reason}"
    t = validation.thresholds
    deep = [v for v in validation.valence if v.layer in validation.thirds["deep"]]
    best = max(validation.valence, key=lambda v: v.separation)
    return (
        f"PC1 valence: separates positive from negative (AUC >= {t.valence_separation_auc} and p < {t.alpha}, valence permuted across "
        f"concepts) at {sum(v.separates for v in deep)}/{len(deep)} deep layers; best layer {best.layer} (exploratory) AUC {best.separation:.2f}, "
        f"{format_p(best.p_value, t.permutations)}"
    )


def confound_lines(validation: ValidationReport) -> list[str]:
    """The geometry by source of texts, the scenario confound and the narrator confound, one bullet each."""
    return source_lines(validation) + scenario_lines(validation) + narrator_lines(validation)


def source_lines(validation: ValidationReport) -> list[str]:
    lines = []
    alpha = validation.thresholds.alpha
    for g in validation.geometry_by_source:
        judged = {k: v for k, v in g.clusters.items() if v is not None}
        if g.reason or not judged:
            lines.append(f"- {g.source} vectors: {g.reason or 'no cluster large enough to judge'}")
            continue
        above = [k for k, v in judged.items() if v.p_adjusted is not None and v.p_adjusted < alpha and v.side == "above"]
        lines.append(
            f"- {g.source} vectors ({g.recipe}; {g.n_concepts} concepts): {len(above)} of {len(judged)} judged clusters cohesive against their null"
            + (f" ({', '.join(above)})" if above else "")
        )
    return lines


def scenario_lines(validation: ValidationReport) -> list[str]:
    sc = validation.scenario_confound
    if sc is None:
        return []
    cells = (
        f"pairs sharing a scenario: same cluster {pair_cell(sc.shared_same_cluster)}, different {pair_cell(sc.shared_other_cluster)}; "
        f"not sharing: same cluster {pair_cell(sc.unshared_same_cluster)}, different {pair_cell(sc.unshared_other_cluster)}"
    )
    if sc.effect is not None:
        verdict = "**confounded**" if sc.confounded else "not detected"
        cells += (
            f". Sharing a scenario adds {sc.effect.value:+.3f} to different-cluster pairs' cosine (null {sc.effect.null_mean:+.3f}, "
            f"z {sc.effect.z:+.1f}, {format_p(sc.effect.p, sc.effect.permutations)}): {verdict}"
        )
    else:
        cells += f" ({sc.reason})"
    lines = [f"- scenario confound (mean deep-third cosine): {cells}."]
    for pair in sc.top_pairs[:3]:
        lines.append(f"  - {pair.a} and {pair.b} ({pair.cosine:+.3f}) share scenario {', '.join(pair.scenarios)}")
    return lines


def narrator_lines(validation: ValidationReport) -> list[str]:
    nc = validation.narrator_confound
    if nc is None:
        return []
    if nc.decodable is None:
        return [f"- narrator person: {nc.reason}"]
    d = nc.decodable
    verdict = "**leaks into the vectors**" if nc.confounded else "not detected"
    return [
        f"- narrator person (texts: {nc.texts_by_person}; concepts by majority: {nc.concepts_by_person}): predicted from the vectors "
        f"with accuracy {d.value:.1%} against a null of {d.null_mean:.1%} (z {d.z:+.1f}, {format_p(d.p, d.permutations)}): {verdict}; "
        f"person directions hold {nc.mean_share:.1%} of a vector on average (a random direction: {nc.random_share:.2%})"
    ]


def pair_cell(cell: PairCell) -> str:
    return MISSING if cell.mean_cosine is None else f"{cell.mean_cosine:+.3f} (n={cell.pairs})"


def analyses_lines(analyses: AnalysesReport) -> list[tuple[str, bool]]:
    """One line per analysis of analyses.json at the report layer, each with whether it is a reason
    the analysis did not run (shown dimmed)."""
    layer = analyses.report_layer
    lines: list[tuple[str, bool]] = []
    lens = analyses.lens
    if lens is None:
        lines.append((f"logit lens: {analyses.lens_reason}", True))
    else:
        lines.append((
            f"logit lens (layer {', '.join(str(x.layer) for x in lens.layers)}): {len(lens.flags)} of {analyses.n_concepts} concepts "
            f"flagged, top tokens mostly pronouns, punctuation or template (random directions: {lens.random_flag_rate:.1%})",
            False,
        ))
    affect = analyses.affect
    if affect is not None:
        row = next(x for x in affect.layers if x.layer == layer)
        text = f"valence/arousal (layer {layer}): PC1 share {row.variance_explained[0]:.1%}"
        if row.best_valence:
            b = row.best_valence
            text += f"; valence best PC{b.component} r {b.r:+.2f} ({format_p(b.p_value, affect.permutations)})"
        if row.best_arousal:
            b = row.best_arousal
            text += f"; arousal best other PC{b.component} r {b.r:+.2f} ({format_p(b.p_value, affect.permutations)})"
        lines.append((text + f" (p corrected for picking among PC1-{affect.components_searched})", False))
    elif analyses.affect_reason:
        lines.append((f"valence/arousal: {analyses.affect_reason}", True))
    structure = analyses.structure
    if structure is not None:
        h = next(x for x in structure.hierarchical if x.layer == layer)
        k = next(x for x in structure.kmeans if x.layer == layer)
        lines.append((
            f"unsupervised groups vs manifest clusters (layer {layer}): ARI hierarchical {h.ari:+.3f} (null 95th pct {h.null_high:+.3f}, "
            f"{format_p(h.p_value, structure.permutations)}), k-means {k.ari:+.3f} ({format_p(k.p_value, structure.permutations)})",
            False,
        ))
    if analyses.pairs is not None:
        p = analyses.pairs
        lines.append((
            f"pairs (layer {layer}): {p.similar_same_share:.0%} of the {p.n} most similar share a cluster (chance {p.chance_same_share:.1%}), "
            f"{p.opposed_same_share:.0%} of the most opposed",
            False,
        ))
    if analyses.stability.settled_from is None:
        lines.append((f"stability: {analyses.stability.geometry_reason}", True))
    else:
        lines.append((f"stability: the concept geometry has settled from layer {analyses.stability.settled_from}", False))
    return lines
