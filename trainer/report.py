"""report.html: the triage with the pictures, one self-contained file (PNGs inlined) that opens offline."""

from __future__ import annotations

import base64
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

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
"""


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
    run: RunData, quality: QualityReport, validation: ValidationReport, triage: TriageReport, images: dict[str, Path]
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
    for title, path in images.items():
        data = base64.b64encode(path.read_bytes()).decode("ascii")
        parts.append(f"<h3>{escape(title)}</h3><img alt=\"{escape(title)}\" src=\"data:image/png;base64,{data}\">")

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

    body = "\n".join(parts)
    title = escape(f"amygdala report: {run.root.name}")
    return f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{title}</title><style>{STYLE}</style></head>\n<body>\n{body}\n</body></html>\n'
