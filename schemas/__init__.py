"""Pydantic models for every file amygdala reads or writes, and their exported JSON Schemas.

``SCHEMAS`` maps each schema file name (in ``schemas/json/``) to its model; tests fail
when a committed file differs from what the model exports (`amygdala schemas --check`).
"""

from __future__ import annotations

from schemas.common import SLUG_PATTERN, Slug
from schemas.finding import Finding, LintReport
from schemas.manifest import Cluster, Concept, Manifest
from schemas.scenario import ScenarioSpec

__all__ = [
    "SLUG_PATTERN",
    "Slug",
    "Cluster",
    "Concept",
    "Manifest",
    "ScenarioSpec",
    "Finding",
    "LintReport",
]
