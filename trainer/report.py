"""report.html: the triage with the pictures, one self-contained file (PNGs inlined) that opens offline."""

from __future__ import annotations

import base64
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

import re

from schemas.analysis import QualityReport, TriageReport, ValidationReport
from trainer.nulls import format_p
from trainer.triage import adjusted_p, confound_lines, far_detail, probe_lines

if TYPE_CHECKING:
    from trainer.analysis import RunData

STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem auto;max-width:1100px;color:#222;padding:0 1rem}
h1{font-size:1.6rem}h2{margin-top:2rem;border-bottom:1px solid #ddd;padding-bottom:.2rem}
table{border-collapse:collapse;margin:.5rem 0;font-size:.9rem}
td,th{border:1px solid #ddd;padding:.25rem .5rem;text-align:left}th{background:#f4f4f4}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.cohesive{color:#1a7f37;font-weight:600}.scattered{color:#9a6700;font-weight:600}
.anti-clustered{color:#cf222e;font-weight:600}.undetermined,.too-small-to-judge{color:#777}
img{max-width:100%;border:1px solid #eee;margin:.5rem 0}code{background:#f6f8fa;padding:0 .2rem}
.muted{color:#666;font-size:.9rem}
"""


def _num(value: float | None, signed: bool = True) -> str:
    if value is None:
        return "–"
    return f"{value:+.3f}" if signed else f"{value:.3f}"


def _md(line: str) -> str:
    """Escape a plain-text line of the triage, keeping its **bold**."""
    return re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", escape(line))


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
        f'<p class="muted">Each label comes from a size-matched null: the cohesion of random concept sets of the cluster\'s size '
        f"({validation.thresholds.permutations} permutations of cluster labels across concepts), two-sided, Holm-adjusted across clusters, "
        f"alpha {validation.thresholds.alpha}: cohesive above it, anti-clustered below it, scattered when it cannot be told apart. "
        f"Clusters under {validation.thresholds.min_cluster_concepts} concepts are too small to judge.</p>",
    ]
    rows = []
    for name, cluster in validation.clusters.items():
        cells = [escape(name), str(len(cluster.concepts))]
        for third in ("early", "middle", "deep"):
            s = cluster.thirds.get(third)
            cells.append("–" if s is None else _label(s.label))
        s = cluster.thirds.get("deep")
        t = s.cohesion_test if s else None
        cells += [
            _num(s.cohesion if s else None),
            "–" if t is None else f"{t.null_mean:+.3f} [{t.null_low:+.3f}, {t.null_high:+.3f}]",
            "–" if t is None else f"{t.z:+.1f}",
            "–" if t is None or t.p_adjusted is None else escape(adjusted_p(t)),
            _num(s.silhouette if s else None),
        ]
        rows.append(cells)
    parts.append(
        _table(
            ["cluster", "concepts", "early", "middle", "deep", "deep cohesion", "null mean [95%]", "z", "p (Holm)", "deep silhouette"],
            rows,
            {1, 5, 6, 7, 8, 9},
        )
    )
    parts.append("<h2>Probes</h2><ul>" + "".join(f"<li>{_md(line)}</li>" for line in probe_lines(validation)) + "</ul>")
    parts.append("<h2>Confounds</h2><ul>" + "".join(f"<li>{_md(line.lstrip('- '))}</li>" for line in confound_lines(validation)) + "</ul>")

    parts.append("<h2>Weak clusters</h2>")
    if triage.weak_clusters:
        parts.append(
            "<ul>" + "".join(f"<li><b>{escape(w.cluster)}</b> {_label(w.label)}: {escape(w.reason)}</li>" for w in triage.weak_clusters) + "</ul>"
        )
    else:
        parts.append("<p>None: every judged cluster is cohesive against its null in the deep third.</p>")
    if triage.unjudged_clusters:
        parts.append(
            '<p class="muted">Not judged: ' + "; ".join(f"{escape(w.cluster)} ({escape(w.reason)})" for w in triage.unjudged_clusters) + ".</p>"
        )
    if triage.far_concepts:
        parts.append("<h3>Concepts farthest from their cluster</h3>")
        parts.append("<ul>" + "".join(f"<li>{escape(far_detail(f))}</li>" for f in triage.far_concepts) + "</ul>")

    parts.append("<h2>Texts to rewrite</h2>")
    if triage.one_text_concepts:
        parts.append(f'<p class="muted">{len(triage.one_text_concepts)} concepts have one text: cannot judge their texts.</p>')
    if triage.texts:
        parts.append(
            _table(
                ["#", "text", "concept", "leave-one-out alignment (p)", "reasons"],
                [
                    [
                        str(i),
                        f"<code>{escape(t.rel)}</code>",
                        escape(t.concept or "baseline"),
                        "–" if t.alignment is None else f"{t.alignment:+.3f} ({t.alignment_p:.3g})",
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
        row += (
            [
                _num(p.accuracy, False),
                f"{_num(p.ci_low, False)}–{_num(p.ci_high, False)}",
                _num(p.null_95, False),
                _num(p.p_value, False),
                _num(p.p_family, False),
            ]
            if p
            else ["–"] * 5
        )
        v = valence.get(layer)
        row += [_num(v.separation, False), _num(v.p_value, False), "yes" if v.separates else "no"] if v else ["–"] * 3
        probe_rows.append(row)
    if probe is None:
        parts.append(f'<p class="muted">Cluster probe: {escape(validation.cluster_probe_reason or "not run")}</p>')
    else:
        s = probe.settings
        parts.append(
            f'<p class="muted">Cluster probe per layer (ridge classifier): {probe.n_classes} clusters, {probe.n_texts} texts, {s.folds} folds '
            f"({escape(s.grouping)}); null: {escape(s.permutation_unit or '')}, {s.permutations} permutations; CI: {s.bootstrap} bootstrap "
            f"resamples of {escape(s.bootstrap_unit)}s; p family-wise: against each permutation's best layer.</p>"
        )
    if validation.valence is None:
        parts.append(f'<p class="muted">Valence: {escape(validation.valence_reason or "")}</p>')
    parts.append(
        _table(
            ["layer", "probe acc", "95% CI", "null 95th pct", "p", "p (all layers)", "PC1 valence separation (AUC)", "p", "separates"],
            probe_rows,
            {0, 1, 3, 4, 5, 6, 7},
        )
    )

    flagged = [
        (name, c)
        for name, c in quality.concepts.items()
        if c.shape == "fragmented" or (c.redundancy and c.redundancy.redundant) or (c.single_neuron and c.single_neuron.one_neuron)
    ]
    parts.append("<h2>Concept quality flags</h2>")
    parts.append(
        f'<p class="muted">fragmented: first PC of the positives no more concentrated than random text sets of the same size '
        f"(from {quality.thresholds.min_first_pc_texts} texts up); redundant: ridge R² above vectors built from label-shuffled texts "
        f"at alpha {quality.thresholds.alpha}" + (
            f" (null mean {quality.redundancy_null.null_mean:.2f}, 95% up to {quality.redundancy_null.null_high:.2f})" if quality.redundancy_null else ""
        ) + "; "
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
                        "–" if not (c.redundancy and c.redundancy.test) else f"{c.redundancy.test.value:.2f} (p {c.redundancy.test.p:.3g})",
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
