"""Pictures of a run (matplotlib, Agg backend): cohesion by layer, the concept cosine heatmap ordered
by cluster, and a 2-D PCA of the concepts coloured by cluster."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from schemas.analysis import QualityReport, ValidationReport
from trainer.rundata import RunData
from trainer.runfolder import RunFolder

COHESION_PNG = "cohesion_by_layer.png"


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _colours(n: int) -> list:
    plt = _pyplot()
    cmap = plt.get_cmap("tab20" if n > 10 else "tab10")
    return [cmap(i % cmap.N) for i in range(n)]


def _save(fig, path: Path) -> None:
    import io

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    _pyplot().close(fig)
    RunFolder.write_bytes(path.parent, path.name, buffer.getvalue())


def cohesion_by_layer(validation: ValidationReport, path: Path) -> None:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(9, 5))
    judged = [(n, c) for n, c in validation.clusters.items() if c.cohesion_z is not None]
    for (name, cluster), colour in zip(judged, _colours(len(judged))):
        small = cluster.labels and cluster.labels[0] == "too small to judge"
        ax.plot(validation.layers, cluster.cohesion_z, label=name + (" (too small to judge)" if small else ""), color=colour,
                linewidth=0.8 if small else 1.6, linestyle=":" if small else "-")
    for bar in (-1.96, 1.96):
        ax.axhline(bar, color="grey", linestyle="--", linewidth=0.8)
    ax.axhline(0.0, color="grey", linewidth=0.6)
    deep = validation.thirds["deep"]
    ax.axvspan(deep[0] - 0.5, deep[-1] + 0.5, color="0.92", zorder=0)
    ax.set_xlabel("layer (output of block layer-1)")
    ax.set_ylabel("cohesion z against random concept sets of the same size")
    ax.set_title("Cluster cohesion against its size-matched null, by layer (shaded: deep third; dashed: |z| = 1.96, uncorrected)")
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5))
    fig.tight_layout()
    _save(fig, path)


def _cluster_order(run: RunData) -> tuple[list[int], list[str]]:
    clusters = run.clusters
    names = [c for c in run.manifest.clusters if c in set(clusters)]
    order = sorted(range(len(run.concepts)), key=lambda i: (names.index(clusters[i]), run.concepts[i]))
    return order, names


def cosine_heatmap(run: RunData, layer: int, path: Path) -> None:
    plt = _pyplot()
    li = run.layers.index(layer)
    order, names = _cluster_order(run)
    vectors = run.vectors[li][order]
    cos = vectors @ vectors.T
    n = len(order)
    size = min(16.0, 4.0 + n * 0.06)
    fig, ax = plt.subplots(figsize=(size + 1.5, size))
    image = ax.imshow(cos, cmap="RdBu_r", vmin=-1, vmax=1, interpolation="nearest")
    clusters = [run.clusters[i] for i in order]
    bounds = [i for i in range(1, n) if clusters[i] != clusters[i - 1]]
    for b in bounds:
        ax.axhline(b - 0.5, color="black", linewidth=0.6)
        ax.axvline(b - 0.5, color="black", linewidth=0.6)
    starts = [0, *bounds]
    ends = [*bounds, n]
    ax.set_yticks([(s + e - 1) / 2 for s, e in zip(starts, ends)])
    ax.set_yticklabels([clusters[s] for s in starts], fontsize=7)
    if n <= 60:
        ax.set_xticks(range(n))
        ax.set_xticklabels([run.concepts[i] for i in order], rotation=90, fontsize=6)
    else:
        ax.set_xticks([])
    ax.set_title(f"Concept cosine at layer {layer}, ordered by cluster")
    fig.colorbar(image, ax=ax, fraction=0.04)
    fig.tight_layout()
    _save(fig, path)


def concept_pca(run: RunData, layer: int, path: Path) -> None:
    plt = _pyplot()
    li = run.layers.index(layer)
    vectors = run.vectors[li].astype(np.float64)
    centered = vectors - vectors.mean(axis=0)
    _, s, vt = np.linalg.svd(centered, full_matrices=False)
    coords = centered @ vt[:2].T if vt.shape[0] >= 2 else np.c_[centered @ vt[:1].T, np.zeros(len(vectors))]
    share = s**2 / max(float((s**2).sum()), 1e-30)
    _, names = _cluster_order(run)
    fig, ax = plt.subplots(figsize=(9, 7))
    clusters = run.clusters
    for name, colour in zip(names, _colours(len(names))):
        idx = [i for i, c in enumerate(clusters) if c == name]
        ax.scatter(coords[idx, 0], coords[idx, 1], color=colour, s=22, label=name)
    if len(run.concepts) <= 80:
        for i, concept in enumerate(run.concepts):
            ax.annotate(concept, coords[i], fontsize=6, alpha=0.8)
    ax.set_xlabel(f"PC1 ({share[0]:.0%} of variance)")
    ax.set_ylabel(f"PC2 ({share[1]:.0%} of variance)" if len(share) > 1 else "PC2")
    ax.set_title(f"Concept directions at layer {layer}, PCA")
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5))
    fig.tight_layout()
    _save(fig, path)


def write_pictures(run: RunData, quality: QualityReport, validation: ValidationReport, folder: Path) -> dict[str, Path]:
    """Write the three PNGs; returns {title: path} in display order."""
    layer = quality.report_layer
    out = {
        "Cohesion by layer": folder / COHESION_PNG,
        f"Concept cosine heatmap, layer {layer}": folder / f"cosine_heatmap_layer{layer}.png",
        f"Concept PCA, layer {layer}": folder / f"concept_pca_layer{layer}.png",
    }
    paths = list(out.values())
    cohesion_by_layer(validation, paths[0])
    cosine_heatmap(run, layer, paths[1])
    concept_pca(run, layer, paths[2])
    return out
