"""Pictures of a run (matplotlib, Agg backend): cohesion by layer (with a null band when one is given),
the concept cosine heatmap ordered by cluster with every concept named, the PCA and circumplex
scatters (distinct colour and marker per cluster, the most extreme concepts labelled), and the
layer profile of the analyses (valence/arousal alignment, clustering agreement, stability)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from schemas.analyses import AnalysesReport
from schemas.analysis import QualityReport, ValidationReport
from trainer.runfolder.data import RunData
from trainer.runfolder.folder import RunFolder

COHESION_PNG = "cohesion_by_layer.png"
LAYER_PROFILE_PNG = "analyses_by_layer.png"
# Colour and marker together keep a dozen clusters apart (colour alone does not, and not for everyone).
MARKERS = "osD^vP*Xhp<>"
LABELS_PER_CLUSTER = 2


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _colours(n: int) -> list:
    """tab10's ten colours, then tab20's light shades: distinct hues first, paired with MARKERS."""
    plt = _pyplot()
    dark, light = plt.get_cmap("tab10"), plt.get_cmap("tab20")
    palette = [dark(i) for i in range(10)] + [light(2 * i + 1) for i in range(10)]
    return [palette[i % len(palette)] for i in range(n)]


def _legend(ax, **options) -> None:
    """A legend when the panel has labelled lines; a small run's empty panel gets none (matplotlib would warn)."""
    if ax.get_legend_handles_labels()[0]:
        ax.legend(**options)


def _save(fig, path: Path) -> None:
    import io

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    _pyplot().close(fig)
    RunFolder.write_bytes(path.parent, path.name, buffer.getvalue())


def cohesion_by_layer(validation: ValidationReport, path: Path, null_band: tuple[list[float], list[float]] | None = None) -> None:
    """``null_band``: (low, high) cohesion per layer under a null (e.g. cluster labels permuted across
    concepts), drawn as a grey band when given."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(9, 5))
    if null_band is not None:
        low, high = null_band
        ax.fill_between(validation.layers, low, high, color="0.8", alpha=0.7, label="null band", zorder=0)
    judged = [(n, c) for n, c in validation.clusters.items() if c.cohesion is not None]
    for i, ((name, cluster), colour) in enumerate(zip(judged, _colours(len(judged)))):
        ax.plot(validation.layers, cluster.cohesion, label=name, color=colour, linewidth=1.6, marker=MARKERS[i % len(MARKERS)], markersize=3)
    ax.axhline(0.0, color="grey", linewidth=0.8)
    deep = validation.thirds["deep"]
    ax.axvspan(deep[0] - 0.5, deep[-1] + 0.5, color="0.92", zorder=0)
    ax.set_xlabel("layer (output of block layer-1)")
    ax.set_ylabel("cohesion (within - between cosine)")
    ax.set_title("Cluster cohesion by layer (light shade: deep third" + ("; grey band: null" if null_band else "") + ")")
    _legend(ax, fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5))
    fig.tight_layout()
    _save(fig, path)


def _cluster_order(run: RunData) -> tuple[list[int], list[str]]:
    clusters = run.clusters
    names = [c for c in run.manifest.clusters if c in set(clusters)]
    order = sorted(range(len(run.concepts)), key=lambda i: (names.index(clusters[i]), run.concepts[i]))
    return order, names


def cosine_heatmap(run: RunData, layer: int, path: Path) -> None:
    """Every concept named on both axes, a colour strip per cluster; large enough to read when opened
    at full size (report.html shows it in a scrollable box)."""
    from matplotlib.patches import Patch

    plt = _pyplot()
    li = run.layers.index(layer)
    order, names = _cluster_order(run)
    vectors = run.vectors[li][order]
    cos = (vectors @ vectors.T).astype(np.float64)
    n = len(order)
    np.fill_diagonal(cos, np.nan)  # the diagonal (1.0) would set the colour scale; off-diagonal cosines are small
    limit = float(np.nanquantile(np.abs(cos), 0.99)) if n > 1 else 1.0
    colours = dict(zip(names, _colours(len(names))))
    clusters = [run.clusters[i] for i in order]
    cell = 0.11  # inches per concept: 6 pt names fit
    size = max(6.0, n * cell + 2.5)
    fig = plt.figure(figsize=(size + 2.5, size))
    ax = fig.add_axes([2.0 / (size + 2.5), 1.6 / size, (n * cell) / (size + 2.5), (n * cell) / size])
    image = ax.imshow(cos, cmap="RdBu_r", vmin=-limit, vmax=limit, interpolation="nearest")
    bounds = [i for i in range(1, n) if clusters[i] != clusters[i - 1]]
    for b in bounds:
        ax.axhline(b - 0.5, color="black", linewidth=0.6)
        ax.axvline(b - 0.5, color="black", linewidth=0.6)
    # Names as plain text rather than 2 x n tick objects: the same picture, drawn in a fraction of the time.
    ax.set_xticks([])
    ax.set_yticks([])
    for pos, i in enumerate(order):
        colour = tuple(0.7 * c for c in colours[clusters[pos]][:3])  # darker than the swatch: pale hues stay legible as text
        ax.text(-0.02, pos, run.concepts[i], transform=ax.get_yaxis_transform(), ha="right", va="center", fontsize=6, color=colour)
        ax.text(pos, -0.01, run.concepts[i], transform=ax.get_xaxis_transform(), ha="center", va="top", rotation=90, fontsize=6, color=colour)
    ax.set_title(
        f"Concept cosine at layer {layer}, ordered by cluster (names coloured by cluster; colour scale ±{limit:.2f}, "
        "the 99th percentile of |cosine|; diagonal blank)",
        fontsize=10,
    )
    cax = fig.add_axes([(2.2 + n * cell) / (size + 2.5), 1.6 / size, 0.15 / (size + 2.5), min(3.0, n * cell) / size])
    fig.colorbar(image, cax=cax)
    fig.legend(
        handles=[Patch(color=colours[c], label=c) for c in names],
        loc="upper right",
        fontsize=7,
        frameon=False,
    )
    _save(fig, path)


def _extremes(x: np.ndarray, y: np.ndarray, clusters: list[str], per_cluster: int) -> set[int]:
    """The concepts farthest from the centre in each cluster: the ones worth a label."""
    radius = np.hypot(x - np.median(x), y - np.median(y))
    chosen: set[int] = set()
    for name in set(clusters):
        idx = [i for i, c in enumerate(clusters) if c == name]
        chosen.update(sorted(idx, key=lambda i: -radius[i])[:per_cluster])
    return chosen


def labelled_scatter(
    x: np.ndarray, y: np.ndarray, concepts: list[str], clusters: list[str], cluster_order: list[str], path: Path,
    *, title: str, xlabel: str, ylabel: str, label_all: bool = False,
) -> None:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(11, 8.5))
    for i, (name, colour) in enumerate(zip(cluster_order, _colours(len(cluster_order)))):
        idx = [j for j, c in enumerate(clusters) if c == name]
        ax.scatter(x[idx], y[idx], color=colour, marker=MARKERS[i % len(MARKERS)], s=34, label=f"{name} ({len(idx)})", edgecolors="white", linewidths=0.4)
    labelled = range(len(concepts)) if label_all else sorted(_extremes(x, y, clusters, LABELS_PER_CLUSTER))
    for j in labelled:
        ax.annotate(concepts[j], (x[j], y[j]), xytext=(3, 3), textcoords="offset points", fontsize=7.5)
    ax.axhline(0, color="0.85", linewidth=0.8, zorder=0)
    ax.axvline(0, color="0.85", linewidth=0.8, zorder=0)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.0, 0.5), title="cluster (n)")
    fig.tight_layout()
    _save(fig, path)


def concept_pca(run: RunData, layer: int, path: Path) -> None:
    from trainer.analysis.affect import principal_scores

    li = run.layers.index(layer)
    scores, share = principal_scores(run.vectors[li], 2)
    y = scores[:, 1] if scores.shape[1] > 1 else np.zeros(len(scores))
    _, names = _cluster_order(run)
    many = len(run.concepts) > 60
    labelled_scatter(
        scores[:, 0], y, run.concepts, run.clusters, names, path,
        title=f"Concept directions at layer {layer}, PCA" + (f" (labelled: the {LABELS_PER_CLUSTER} most extreme per cluster)" if many else ""),
        xlabel=f"PC1 ({share[0]:.0%} of variance)",
        ylabel=f"PC2 ({share[1]:.0%} of variance)" if len(share) > 1 else "PC2",
        label_all=not many,
    )


def circumplex(run: RunData, analyses: AnalysesReport, path: Path) -> None:
    affect = analyses.affect
    assert affect is not None
    layer = next(x for x in affect.layers if x.layer == affect.circumplex_layer)
    cx, cy = affect.circumplex_axes
    x = np.array([p.x for p in affect.circumplex])
    y = np.array([p.y for p in affect.circumplex])
    _, names = _cluster_order(run)
    v = layer.best_valence
    a = layer.best_arousal
    many = len(run.concepts) > 60
    labelled_scatter(
        x, y, [p.concept for p in affect.circumplex], [p.cluster for p in affect.circumplex], names, path,
        title=f"Circumplex at layer {affect.circumplex_layer}: components best aligned with valence (x) and arousal (y)"
        + (f"\nlabelled: the {LABELS_PER_CLUSTER} most extreme concepts per cluster" if many else ""),
        xlabel=f"PC{cx} ({layer.variance_explained[cx - 1]:.0%} of variance), |r| with valence {abs(v.r):.2f}, p {v.p_value:.3f} (corrected for picking among PC1-{affect.components_searched}); positive right"
        if v
        else f"PC{cx}",
        ylabel=f"PC{cy} ({layer.variance_explained[cy - 1]:.0%}), |r| with arousal {abs(a.r):.2f}, p {a.p_value:.3f}; high arousal up"
        if a
        else f"PC{cy} (no arousal ratings)",
        label_all=not many,
    )


def layer_profile(analyses: AnalysesReport, path: Path) -> None:
    """Three panels over layers: valence/arousal alignment, clustering agreement with its null, stability."""
    plt = _pyplot()
    layers = analyses.layers
    fig, axes = plt.subplots(3, 1, figsize=(9, 10), sharex=True)
    ax = axes[0]
    if analyses.affect is not None:
        rows = analyses.affect.layers
        ax.plot(layers, [abs(r.pc1_valence.r) if r.pc1_valence else np.nan for r in rows], label="|r| PC1 vs valence", color="tab:blue")
        ax.plot(layers, [abs(r.best_valence.r) if r.best_valence else np.nan for r in rows], "--", label="|r| best of PC1-5 vs valence", color="tab:blue")
        ax.plot(layers, [abs(r.pc2_arousal.r) if r.pc2_arousal else np.nan for r in rows], label="|r| PC2 vs arousal", color="tab:red")
        ax.plot(layers, [abs(r.best_arousal.r) if r.best_arousal else np.nan for r in rows], "--", label="|r| best other PC vs arousal", color="tab:red")
        ax.plot(layers, [r.variance_explained[0] for r in rows], ":", label="PC1 share of variance", color="0.4")
    ax.set_ylabel("correlation / share")
    ax.set_title("Valence and arousal along the principal components")
    _legend(ax, fontsize=7)
    ax = axes[1]
    if analyses.structure is not None:
        for name, rows, colour in (("hierarchical", analyses.structure.hierarchical, "tab:green"), ("k-means", analyses.structure.kmeans, "tab:purple")):
            ax.plot(layers, [r.ari for r in rows], label=f"ARI {name}", color=colour)
            ax.fill_between(layers, [r.null_mean for r in rows], [r.null_high for r in rows], color=colour, alpha=0.15, label=f"{name} null (mean to 95th pct)")
    ax.set_ylabel("adjusted Rand index")
    ax.set_title("Unsupervised groups against the manifest clusters")
    _legend(ax, fontsize=7)
    ax = axes[2]
    st = analyses.stability
    ax.plot(layers, [np.nan if v is None else v for v in st.adjacent_mean], label="mean cosine to previous layer", color="tab:orange")
    ax.plot(layers, st.to_report_mean, label=f"mean cosine to layer {st.report_layer}", color="tab:brown")
    if st.settled_from is not None:
        ax.plot(layers, st.geometry_to_report, "--", label=f"cosine-matrix r with layer {st.report_layer}", color="0.3")
        ax.axvline(st.settled_from - 0.5, color="0.6", linestyle=":", label=f"settled from layer {st.settled_from}")
    ax.set_ylabel("cosine / r")
    ax.set_xlabel("layer")
    ax.set_title("Stability across layers")
    _legend(ax, fontsize=7)
    fig.tight_layout()
    _save(fig, path)


def write_pictures(
    run: RunData,
    quality: QualityReport,
    validation: ValidationReport,
    folder: Path,
    analyses: AnalysesReport | None = None,
    null_band: tuple[list[float], list[float]] | None = None,
) -> dict[str, Path]:
    """Write the PNGs; returns {title: path} in display order."""
    layer = quality.report_layer
    out = {
        "Cohesion by layer": folder / COHESION_PNG,
        f"Concept cosine heatmap, layer {layer}": folder / f"cosine_heatmap_layer{layer}.png",
        f"Concept PCA, layer {layer}": folder / f"concept_pca_layer{layer}.png",
    }
    paths = list(out.values())
    cohesion_by_layer(validation, paths[0], null_band)
    cosine_heatmap(run, layer, paths[1])
    concept_pca(run, layer, paths[2])
    if analyses is not None:
        if analyses.affect is not None:
            out[f"Circumplex, layer {analyses.affect.circumplex_layer}"] = folder / f"circumplex_layer{analyses.affect.circumplex_layer}.png"
            circumplex(run, analyses, out[f"Circumplex, layer {analyses.affect.circumplex_layer}"])
        out["Analyses by layer"] = folder / LAYER_PROFILE_PNG
        layer_profile(analyses, out["Analyses by layer"])
    return out
