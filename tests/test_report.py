"""Pictures, report.html and the JSON files of the analysis, through the real CLI."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
from typer.testing import CliRunner

from _synthetic_run import LAYERS, OUTLIER, directions, write_model, write_run
from schemas.export import SCHEMA_DIR, stale
from toolkit.cli import app

runner = CliRunner(env={"COLUMNS": "1000"})
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
MINE = {"quality.schema.json", "validation.schema.json", "triage.schema.json", "comparison.schema.json"}


def test_analysis_schemas_are_exported_and_current():
    assert not MINE & set(stale())
    assert MINE <= {p.name for p in SCHEMA_DIR.iterdir()}


def test_validate_writes_reports_that_match_their_schemas_and_the_pictures(tmp_path: Path):
    vectors = {layer: directions(layer) for layer in LAYERS}
    run_dir = write_run(tmp_path / "run", model=write_model(tmp_path / "model", vectors, concept="tight_1", layer=3))
    result = runner.invoke(app, ["validate", str(run_dir), "--layer", "4"])
    assert result.exit_code == 0, result.output
    assert re.search(r"split\W+4\W+cohesive\W+cohesive\W+scattered", result.output)
    assert "Cluster probe (pre-declared layer 4)" in result.output and "PC1 valence:" in result.output
    for name in ("quality", "validation"):
        schema = json.loads((SCHEMA_DIR / f"{name}.schema.json").read_text())
        jsonschema.validate(json.loads((run_dir / f"{name}.json").read_text()), schema)
    quality = json.loads((run_dir / "quality.json").read_text())
    assert quality["report_layer"] == 4
    for png in ("cohesion_by_layer.png", "cosine_heatmap_layer4.png", "concept_pca_layer4.png"):
        assert (run_dir / png).read_bytes().startswith(PNG_MAGIC), png
    assert not (run_dir / "report.html").exists()  # validate alone does not triage


def test_report_html_is_self_contained(tmp_path: Path):
    run_dir = write_run(tmp_path / "run")
    assert runner.invoke(app, ["triage", str(run_dir), "--no-probes"]).exit_code == 0
    html = (run_dir / "report.html").read_text()
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    assert len(images) == 5  # cohesion, heat map, PCA, circumplex, analyses by layer
    import base64

    assert all(base64.b64decode(img).startswith(PNG_MAGIC) for img in images)
    # nothing is fetched from elsewhere: no external scripts, styles or images
    assert not re.search(r'(src|href)="(?!data:)', html)
    assert "<script" not in html
    assert OUTLIER in html and "scattered" in html and "too small to judge" in html
    assert "probes not run" in html
    schema = json.loads((SCHEMA_DIR / "triage.schema.json").read_text())
    jsonschema.validate(json.loads((run_dir / "triage.json").read_text()), schema)
    assert (run_dir / "triage.md").read_text().startswith("# Triage")


def test_html_escapes_names_from_the_run(tmp_path: Path):
    run_dir = write_run(tmp_path / "run")
    texts = json.loads((run_dir / "texts.json").read_text())
    for t in texts:
        if t["rel"] == OUTLIER:
            t["rel"] = "stories/<b>tight</b>.txt"
    (run_dir / "texts.json").write_text(json.dumps(texts))
    assert runner.invoke(app, ["triage", str(run_dir), "--no-probes"]).exit_code == 0
    html = (run_dir / "report.html").read_text()
    assert "&lt;b&gt;tight&lt;/b&gt;" in html and "<b>tight</b>" not in html


def test_a_layer_outside_the_run_is_a_usage_error(tmp_path: Path):
    run_dir = write_run(tmp_path / "run")
    result = runner.invoke(app, ["validate", str(run_dir), "--layer", "40"])
    assert result.exit_code == 2
    assert result.stderr == f"error: {run_dir}: layer 40 is not in the run (layers 1..6)\n"
