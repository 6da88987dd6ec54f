"""Export the JSON Schema of every model in ``REGISTRY`` to ``schemas/json/``."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel

from schemas.analyses import AnalysesReport
from schemas.analysis import ComparisonReport, QualityReport, TriageReport, ValidationReport
from schemas.evaluation import EvalReport, ReadoutReport, SteeringReport
from schemas.finding import LintReport
from schemas.manifest import Manifest
from schemas.reports import CoverageReport, InterchangeRecord, StatsReport
from schemas.run import ReadoutInfo, RunInfo, TextsFile
from schemas.scenario import ScenarioSpec

SCHEMA_DIR = Path(__file__).parent / "json"

REGISTRY: dict[str, type[BaseModel]] = {
    "manifest.schema.json": Manifest,
    "scenario.schema.json": ScenarioSpec,
    "lint-report.schema.json": LintReport,
    "coverage-report.schema.json": CoverageReport,
    "stats-report.schema.json": StatsReport,
    "interchange-record.schema.json": InterchangeRecord,
    "quality.schema.json": QualityReport,
    "validation.schema.json": ValidationReport,
    "triage.schema.json": TriageReport,
    "analyses.schema.json": AnalysesReport,
    "comparison.schema.json": ComparisonReport,
    "run.schema.json": RunInfo,
    "readout.schema.json": ReadoutInfo,
    "texts.schema.json": TextsFile,
    "readout-report.schema.json": ReadoutReport,
    "eval.schema.json": EvalReport,
    "steering.schema.json": SteeringReport,
}


def render(model: type[BaseModel]) -> str:
    schema = model.model_json_schema(by_alias=True, mode="serialization")
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def stale(directory: Path = SCHEMA_DIR) -> list[str]:
    """Names of schema files that are missing or differ from what the models export."""
    out = []
    for name, model in REGISTRY.items():
        path = directory / name
        if not path.exists() or path.read_text(encoding="utf-8") != render(model):
            out.append(name)
    return out


def export(directory: Path = SCHEMA_DIR) -> list[str]:
    """Write every schema whose content changed; return the names written."""
    from base.jsonio import atomic_write_text

    written = stale(directory)
    for name in written:
        atomic_write_text(directory / name, render(REGISTRY[name]))
    return written
