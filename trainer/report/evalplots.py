"""Pictures of eval.json and steering.json: accuracy by layer with its CI and chance, and the
steering heat map (median z over concepts, layer x strength)."""

from __future__ import annotations

from pathlib import Path

from schemas.evaluation import EvalReport, SteeringReport
from trainer.report.plots import _pyplot, _save


def eval_by_layer(report: EvalReport, path: Path) -> None:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 3.6))
    layers = report.layers
    for key, colour, chance in (("top1", "tab:blue", report.chance_top1), ("top5", "tab:orange", report.chance_top5)):
        rows = [getattr(row, key) for row in report.per_layer]
        ax.plot(layers, [r.value for r in rows], color=colour, label=f"{key} (n={rows[0].n})")
        ax.fill_between(layers, [r.ci_low for r in rows], [r.ci_high for r in rows], color=colour, alpha=0.2)
        ax.axhline(chance, color=colour, linestyle=":", linewidth=1, label=f"{key} chance")
    ax.axvline(report.headline_layer, color="black", linewidth=0.8, label=f"headline layer {report.headline_layer}")
    ax.set_xlabel("layer")
    ax.set_ylabel("accuracy")
    ax.set_title(f"readout accuracy ({report.mode}), {len(report.candidates)} candidate concepts, 95% CI")
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    _save(fig, path)


def steering_heatmap(report: SteeringReport, path: Path) -> None:
    import numpy as np

    plt = _pyplot()
    grid = np.array([[c.median_z for c in report.cells if c.layer == layer] for layer in report.layers])
    fig, ax = plt.subplots(figsize=(1.6 + 1.2 * len(report.strengths), 1.2 + 0.45 * len(report.layers)))
    image = ax.imshow(grid, cmap="viridis", aspect="auto")
    ax.set_xticks(range(len(report.strengths)), [f"{s:g}" for s in report.strengths])
    ax.set_yticks(range(len(report.layers)), [str(layer) for layer in report.layers])
    for i in range(grid.shape[0]):
        for j in range(grid.shape[1]):
            ax.text(j, i, f"{grid[i, j]:.1f}", ha="center", va="center", color="white", fontsize=8)
    ax.set_xlabel("strength (x mean residual norm)")
    ax.set_ylabel("layer")
    ax.set_title(f"median z vs {report.n_random} random directions", fontsize=9)
    fig.colorbar(image, ax=ax)
    fig.tight_layout()
    _save(fig, path)
