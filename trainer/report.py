"""report.html: the triage with the pictures, one self-contained file (PNGs inlined) that opens offline."""

from __future__ import annotations

import base64
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

from schemas.analyses import AnalysesReport
from schemas.analysis import QualityReport, TriageReport, ValidationReport

if TYPE_CHECKING:
    from trainer.analysis import RunData

STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem auto;max-width:1100px;color:#222;padding:0 1rem}
h1{font-size:1.6rem}h2{margin-top:2rem;border-bottom:1px solid #ddd;padding-bottom:.2rem}
table{border-collapse:collapse;margin:.5rem 0;font-size:.9rem}
td,th{border:1px solid #ddd;padding:.25rem .5rem;text-align:left}th{background:#f4f4f4}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.cohesive{color:#1a7f37;font-weight:600}.scattered{color:#9a6700;font-weight:600}
.anti-clustered{color:#cf222e;font-weight:600}.undetermined{color:#777}
img{max-width:100%;border:1px solid #eee;margin:.5rem 0}code{background:#f6f8fa;padding:0 .2rem}
.muted{color:#666;font-size:.9rem}
.zoom{overflow:auto;max-height:85vh;border:1px solid #ddd}.zoom img{max-width:none;border:0;margin:0}
.fit:checked+label+.zoom img{max-width:100%}details{margin:.5rem 0}summary{cursor:pointer;color:#0550ae}
.tok{font-family:ui-monospace,monospace;font-size:.8rem;white-space:pre}.flag{color:#cf222e;font-weight:600}
"""
WIDE_PNG = 1400  # pixels: wider pictures (the named heat map) open at full size in a scrollable box


def _num(value: float | None, signed: bool = True) -> str:
    if value is None:
        return "–"
    return f"{value:+.3f}" if signed else f"{value:.3f}"


def _label(label: str) -> str:
    return f'<span class="{escape(label)}">{escape(label)}</span>'


def _table(headers: list[str], rows: list[list[str]], numeric: frozenset[int] | set[int] = frozenset()) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f'<td class="num">{c}</td>' if i in numeric else f"<td>{c}</td>" for i, c in enumerate(row)) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _model_name(run_info: dict[str, Any]) -> str:
    model = run_info.get("model")
    if isinstance(model, dict):
        for key in ("name", "identity", "id", "path"):
            if isinstance(model.get(key), str):
                return model[key]
    return model if isinstance(model, str) else "unknown model"


def render_html(
    run: RunData,
    quality: QualityReport,
    validation: ValidationReport,
    triage: TriageReport,
    images: dict[str, Path],
    analyses: AnalysesReport | None = None,
) -> str:
    deep = validation.thirds["deep"]
    parts = [
        f"<h1>amygdala run report: {escape(run.root.name)}</h1>",
        f'<p class="muted">Model {escape(_model_name(run.run_info))}; {len(run.concepts)} concepts, {len(run.texts)} texts, '
        f"layers {run.layers[0]}–{run.layers[-1]}; deep third {deep[0]}–{deep[-1]}; report layer {quality.report_layer}.</p>",
        "<h2>Clusters</h2>",
        f'<p class="muted">cohesive: cohesion &gt; {validation.thresholds.cohesive_cohesion} and silhouette &gt; '
        f"{validation.thresholds.cohesive_silhouette}; anti-clustered: cohesion &lt; {validation.thresholds.anti_clustered_cohesion}; "
        "scattered otherwise.</p>",
    ]
    rows = []
    for name, cluster in validation.clusters.items():
        cells = [escape(name), str(len(cluster.concepts))]
        for third in ("early", "middle", "deep"):
            s = cluster.thirds.get(third)
            cells.append("–" if s is None else _label(s.label))
        s = cluster.thirds.get("deep")
        cells += [_num(s.cohesion if s else None), _num(s.silhouette if s else None)]
        rows.append(cells)
    parts.append(_table(["cluster", "concepts", "early", "middle", "deep", "deep cohesion", "deep silhouette"], rows, {1, 5, 6}))

    parts.append("<h2>Weak clusters</h2>")
    if triage.weak_clusters:
        parts.append(
            "<ul>" + "".join(f"<li><b>{escape(w.cluster)}</b> {_label(w.label)}: {escape(w.reason)}</li>" for w in triage.weak_clusters) + "</ul>"
        )
    else:
        parts.append("<p>None: every cluster is cohesive in the deep third.</p>")
    if triage.far_concepts:
        parts.append("<h3>Concepts farthest from their cluster</h3>")
        parts.append(
            _table(
                ["concept", "cluster", "cosine to mates", "closest other cluster", "cosine"],
                [
                    [escape(f.concept), escape(f.cluster), _num(f.mate_cosine), escape(f.closest_cluster or "–"), _num(f.closest_cosine)]
                    for f in triage.far_concepts
                ],
                {2, 4},
            )
        )

    parts.append("<h2>Texts to rewrite</h2>")
    if triage.texts:
        parts.append(
            _table(
                ["#", "text", "concept", "alignment", "reasons"],
                [
                    [
                        str(i),
                        f"<code>{escape(t.rel)}</code>",
                        escape(t.concept or "baseline"),
                        _num(t.alignment),
                        "<br>".join(f"{escape(r.kind)}: {escape(r.detail)}" for r in t.reasons),
                    ]
                    for i, t in enumerate(triage.texts, 1)
                ],
                {0, 3},
            )
        )
    else:
        parts.append("<p>None.</p>")

    parts.append("<h2>Pictures</h2>")
    for i, (title, path) in enumerate(images.items()):
        raw = path.read_bytes()
        data = base64.b64encode(raw).decode("ascii")
        img = f"<img alt=\"{escape(title)}\" src=\"data:image/png;base64,{data}\">"
        if int.from_bytes(raw[16:20], "big") > WIDE_PNG:  # PNG width, from the IHDR chunk
            img = (
                f'<input type="checkbox" class="fit" id="fit{i}"><label for="fit{i}" class="muted"> fit to page width '
                f"(unchecked: full size, scroll to read every name)</label><div class=\"zoom\">{img}</div>"
            )
        parts.append(f"<h3>{escape(title)}</h3>{img}")

    parts.append("<h2>Probes and valence</h2>")
    probe_rows = []
    probe = validation.cluster_probe
    valence = {v.layer: v for v in validation.valence or []}
    for layer in validation.layers:
        row = [str(layer)]
        p = next((x for x in probe.layers if x.layer == layer), None) if probe else None
        row += [_num(p.accuracy, False), f"{_num(p.ci_low, False)}–{_num(p.ci_high, False)}", _num(p.chance, False), _num(p.p_value, False)] if p else ["–"] * 4
        v = valence.get(layer)
        row += [_num(v.separation, False), _num(v.effect, False), "yes" if v.separates else "no"] if v else ["–"] * 3
        probe_rows.append(row)
    if probe is None:
        parts.append(f'<p class="muted">Cluster probe: {escape(validation.cluster_probe_reason or "not run")}</p>')
    else:
        s = probe.settings
        parts.append(
            f'<p class="muted">Cluster probe: {probe.n_classes} clusters, {probe.n_texts} texts, {s.folds}-fold, '
            f"{s.dims} PCA dims, {s.permutations} permutations, {s.bootstrap} bootstrap resamples.</p>"
        )
    if validation.valence is None:
        parts.append(f'<p class="muted">Valence: {escape(validation.valence_reason or "")}</p>')
    parts.append(
        _table(
            ["layer", "probe acc", "95% CI", "chance", "p", "PC1 valence separation (AUC)", "effect", "separates"],
            probe_rows,
            {0, 1, 3, 4, 5, 6},
        )
    )

    flagged = [
        (name, c)
        for name, c in quality.concepts.items()
        if c.shape == "fragmented" or (c.redundancy and c.redundancy.redundant) or (c.single_neuron and c.single_neuron.one_neuron)
    ]
    parts.append("<h2>Concept quality flags</h2>")
    parts.append(
        f'<p class="muted">fragmented: first PC &lt; {quality.thresholds.fragmented_first_pc}; redundant: ridge R² &gt; '
        f"{quality.thresholds.redundant_r2} (random directions would reach about {quality.redundancy_chance_r2:.2f}); "
        f"one neuron: best down-projection |cosine| &gt; {quality.thresholds.single_neuron_cosine}"
        + ("" if quality.down_projection.available else f" (unavailable: {escape(quality.down_projection.reason or '')})")
        + ".</p>"
    )
    if flagged:
        parts.append(
            _table(
                ["concept", "cluster", "first PC (deep)", "redundancy R²", "top contributors", "single neuron"],
                [
                    [
                        escape(name),
                        escape(c.cluster),
                        _num(c.first_pc_deep, False),
                        _num(c.redundancy.r2 if c.redundancy else None, False),
                        escape(", ".join(x.concept for x in c.redundancy.contributors)) if c.redundancy else "–",
                        _num(c.single_neuron.best if c.single_neuron else None, False),
                    ]
                    for name, c in flagged
                ],
                {2, 3, 5},
            )
        )
    else:
        parts.append("<p>No concept is fragmented, redundant or a single neuron.</p>")

    if analyses is not None:
        parts += analyses_sections(analyses, dict(zip(run.concepts, run.clusters)))

    body = "\n".join(parts)
    title = escape(f"amygdala report: {run.root.name}")
    return f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{title}</title><style>{STYLE}</style></head>\n<body>\n{body}\n</body></html>\n'


def _tokens(tokens) -> str:
    return " ".join(
        f'<span class="tok{" flag" if t.kind else ""}" title="{escape(t.kind or "")} {t.logit:+.2f}">{escape(repr(t.token)[1:-1])}</span>' for t in tokens
    )


def _p(value: float) -> str:
    return f"{value:.3f}" if value >= 0.001 else "&lt;0.001"


def _corr(c) -> str:
    return "–" if c is None else f"{c.r:+.2f} (p {_p(c.p_value)})"


def analyses_sections(analyses: AnalysesReport, cluster_of: dict[str, str]) -> list[str]:
    """The researcher's analyses (analyses.json) as report sections; docs/analyses.md explains each."""
    parts = ["<h2>Logit lens</h2>"]
    lens = analyses.lens
    if lens is None:
        parts.append(f'<p class="muted">Not run: {escape(analyses.lens_reason or "")}</p>')
    else:
        parts.append(
            f'<p class="muted">Each unit direction through the final norm ({escape(lens.norm)}) and {escape(lens.unembedding)} '
            f"({lens.vocab_size} tokens), at layer(s) {', '.join(str(x.layer) for x in lens.layers)}. Flagged when at least "
            f"{lens.flag_share:.0%} of the top {lens.top_k} tokens are pronouns, punctuation or template tokens (red); "
            f"{lens.random_directions} random directions are flagged at a rate of {lens.random_flag_rate:.1%} "
            f"(mean share {lens.random_leak_share:.1%}): the chance level.</p>"
        )
        if lens.flags:
            parts.append(f"<p><b>{len(lens.flags)} flagged</b> of {analyses.n_concepts * len(lens.layers)} concept-layers:</p>")
            parts.append(
                _table(
                    ["concept", "cluster", "layer", "leak share", "leaking tokens"],
                    [
                        [escape(f.concept), escape(cluster_of.get(f.concept, "")), str(f.layer), f"{f.leak_share:.0%}", " ".join(f'<span class="tok">{escape(repr(t)[1:-1])}</span>' for t in f.tokens)]
                        for f in lens.flags
                    ],
                    {2, 3},
                )
            )
        else:
            parts.append("<p>No concept is flagged.</p>")
        for layer in lens.layers:
            rows = [
                [escape(c), escape(cluster_of.get(c, "")), _tokens(x.top), _tokens(x.bottom), f"{x.leak_share:.0%}"]
                for c, x in sorted(layer.concepts.items(), key=lambda kv: (cluster_of.get(kv[0], ""), kv[0]))
            ]
            parts.append(
                f"<details><summary>Top and bottom tokens of every concept at layer {layer.layer}</summary>"
                + _table(["concept", "cluster", f"top {lens.top_k}", f"bottom {lens.top_k}", "leak share"], rows, {4})
                + "</details>"
            )

    parts.append("<h2>Valence and arousal</h2>")
    affect = analyses.affect
    if affect is None:
        parts.append(f'<p class="muted">Not run: {escape(analyses.affect_reason or "")}</p>')
    else:
        parts.append(
            f'<p class="muted">Pearson r between principal-component scores and the manifest ratings coded '
            f"{escape(str(affect.coding['valence']))} and {escape(str(affect.coding['arousal']))} "
            f"(n = {affect.n_valence} for valence, {affect.n_arousal} for arousal); p from {affect.permutations} permutations of the ratings "
            f"across concepts. 'best' picks the component with the largest |r| among PC1–{affect.components_searched} and its p is "
            "corrected for that choice (maximum-|r| null).</p>"
        )
        if analyses.affect_reason:
            parts.append(f'<p class="muted">{escape(analyses.affect_reason)}</p>')
        rows = []
        for x in affect.layers:
            best_v = "–" if x.best_valence is None else f"PC{x.best_valence.component} {x.best_valence.r:+.2f} (p {_p(x.best_valence.p_value)})"
            best_a = "–" if x.best_arousal is None else f"PC{x.best_arousal.component} {x.best_arousal.r:+.2f} (p {_p(x.best_arousal.p_value)})"
            rows.append(
                [str(x.layer), " / ".join(f"{v:.0%}" for v in x.variance_explained), _corr(x.pc1_valence), _corr(x.pc2_valence),
                 _corr(x.pc1_arousal), _corr(x.pc2_arousal), best_v, best_a]
            )
        parts.append(
            _table(["layer", "PC1–PC5 variance", "PC1 ~ valence", "PC2 ~ valence", "PC1 ~ arousal", "PC2 ~ arousal", "best ~ valence", "best other ~ arousal"], rows, {0})
        )

    parts.append("<h2>Unsupervised structure</h2>")
    st = analyses.structure
    if st is None:
        parts.append(f'<p class="muted">Not run: {escape(analyses.structure_reason or "")}</p>')
    else:
        parts.append(
            f'<p class="muted">Average-linkage clustering on cosine distance and k-means, each cut into {st.n_groups} groups (the number of '
            "manifest clusters). ARI: adjusted Rand index with the manifest clusters (0 = chance, 1 = the same grouping); the null permutes "
            f"the manifest labels across concepts ({st.permutations} permutations).</p>"
        )
        rows = [
            [str(h.layer), f"{h.ari:+.3f}", f"{h.null_high:+.3f}", _p(h.p_value), f"{k.ari:+.3f}", f"{k.null_high:+.3f}", _p(k.p_value)]
            for h, k in zip(st.hierarchical, st.kmeans)
        ]
        parts.append(
            "<details><summary>Agreement by layer</summary>"
            + _table(["layer", "hierarchical ARI", "null 95th pct", "p", "k-means ARI", "null 95th pct", "p"], rows, {0, 1, 2, 3, 4, 5, 6})
            + "</details>"
        )
        parts.append(f"<h3>Recovered groups at layer {st.report_layer}</h3>")
        parts.append(
            _table(
                ["group", "size", "majority cluster", "purity", "clusters", "members"],
                [
                    [str(g.group), str(len(g.members)), escape(g.majority), f"{g.purity:.0%}",
                     escape(", ".join(f"{c} {n}" for c, n in g.clusters.items())), escape(", ".join(g.members))]
                    for g in st.groups
                ],
                {1, 3},
            )
        )
        parts.append(
            _table(
                ["manifest cluster", "size", "what the grouping did", "members per group"],
                [[escape(f.cluster), str(f.size), escape(f.verdict), escape(", ".join(f"g{g}: {n}" for g, n in f.groups.items()))] for f in st.fates],
                {1},
            )
        )

    pairs = analyses.pairs
    if pairs is not None:
        parts.append(f"<h2>Most similar and most opposed pairs, layer {pairs.layer}</h2>")
        parts.append(
            f'<p class="muted">Same cluster: {pairs.similar_same_share:.0%} of the {pairs.n} most similar pairs '
            f"(hypergeometric p {_p(pairs.similar_p_value)}) and {pairs.opposed_same_share:.0%} of the most opposed, against "
            f"{pairs.chance_same_share:.1%} of all pairs.</p>"
        )
        for title, listed in (("most similar", pairs.similar), ("most opposed", pairs.opposed)):
            parts.append(
                f"<h3>{title}</h3>"
                + _table(
                    ["a", "b", "cosine", "same cluster"],
                    [[escape(x.a), escape(x.b), f"{x.cosine:+.3f}", "yes" if x.same_cluster else "no"] for x in listed],
                    {2},
                )
            )

    stab = analyses.stability
    parts.append("<h2>Stability across layers</h2>")
    parts.append(
        f'<p class="muted">The geometry has settled from layer {stab.settled_from}: from there to the report layer {stab.report_layer}, '
        f"the correlation of each layer's concept cosine matrix with the report layer's stays at or above {stab.settle_threshold}.</p>"
    )
    rows = [
        [str(layer), _num(adj), _num(low), _num(rep), _num(gadj), _num(grep_)]
        for layer, adj, low, rep, gadj, grep_ in zip(
            stab.layers, stab.adjacent_mean, stab.adjacent_min, stab.to_report_mean, stab.geometry_adjacent, stab.geometry_to_report
        )
    ]
    parts.append(
        "<details><summary>By layer</summary>"
        + _table(
            ["layer", "cosine to previous (mean)", "(min)", f"cosine to layer {stab.report_layer}", "cosine-matrix r, previous", f"cosine-matrix r, layer {stab.report_layer}"],
            rows,
            {0, 1, 2, 3, 4, 5},
        )
        + "</details>"
    )
    return parts
