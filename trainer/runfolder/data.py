"""A run folder read into typed models and arrays (a leaf: numpy and schemas only).

``trainer.runfolder.folder.RunFolder.read`` builds it; the analysis steps take it as input and never
open a file themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

from schemas.finding import LintReport
from schemas.manifest import Manifest
from schemas.run import ReadoutInfo, RunInfo, TextRecord


@dataclass(eq=False)
class RunData:
    """Rows of ``vectors`` follow ``readout.concepts``; rows of every activation layer follow ``texts``."""

    root: Path
    info: RunInfo
    readout: ReadoutInfo
    texts: list[TextRecord]
    manifest: Manifest
    lint: LintReport | None
    vectors: np.ndarray  # [n_layers, n_concepts, hidden] float32, unit rows
    activation_layers: list[np.ndarray] = field(repr=False)  # per layer [n_texts, hidden], float32 (memory-mapped when stored so)

    @property
    def concepts(self) -> list[str]:
        return self.readout.concepts

    @property
    def layers(self) -> list[int]:
        return self.readout.layers

    def layer_activations(self, layer: int) -> np.ndarray:
        """[n_texts, hidden] float32 pooled states at ``layer`` (a layer index as in ``layers``)."""
        return self.activation_layers[self.layers.index(layer)]

    @cached_property
    def activations(self) -> np.ndarray:
        """[n_layers, n_texts, hidden] float32, every layer read into memory at first use."""
        return np.stack(self.activation_layers)

    @property
    def clusters(self) -> list[str]:
        """Cluster of each concept, in ``concepts`` order."""
        return [self.manifest.concepts[c].cluster for c in self.concepts]

    @property
    def rels(self) -> list[str]:
        """Corpus-relative path of each activation row."""
        return [t.rel for t in self.texts]

    @property
    def text_concept_index(self) -> np.ndarray:
        """Index into ``concepts`` of each text's concept; -1 for baselines and concepts without a vector."""
        where = {c: i for i, c in enumerate(self.concepts)}
        return np.array([where.get(t.concept or "", -1) for t in self.texts], dtype=np.int64)
