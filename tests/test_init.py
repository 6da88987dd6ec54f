"""`amygdala init`: a starter project that lints, with the manifest's schema beside it, never overwriting."""

from __future__ import annotations

import json
import tomllib

import jsonschema
from typer.testing import CliRunner

from conftest import MANIFEST
from toolkit.cli import app

runner = CliRunner(env={"COLUMNS": "300"})


def files(root):
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() and ".amygdala_cache" not in p.parts)


def test_init_writes_a_project_that_lints_and_whose_schema_resolves(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["init", "stories-repo"])
    assert result.exit_code == 0, result.output
    root = tmp_path / "stories-repo"
    assert files(root) == [
        "amygdala.toml",
        "amygdala_stories/paired/.gitkeep",
        "amygdala_stories/stories/patient/01.txt",
        "manifest.json",
        "manifest.schema.json",
        "requirements.txt",
    ]
    manifest = json.loads((root / "manifest.json").read_text())
    schema_path = root / manifest["$schema"]
    assert schema_path.is_file()  # "$schema" resolves in the writer's repository
    jsonschema.validate(manifest, json.loads(schema_path.read_text()))
    assert manifest["concepts"] == json.loads(MANIFEST.read_text())["concepts"]  # the bundled manifest
    config = tomllib.loads((root / "amygdala.toml").read_text())
    assert config["corpus"] == "amygdala_stories" and config["manifest"] == "manifest.json"

    monkeypatch.chdir(root / "amygdala_stories" / "stories")  # found from below, as ruff finds its config
    lint = runner.invoke(app, ["lint", "--format", "concise"])
    assert lint.exit_code == 0 and lint.stdout.splitlines()[-1] == "Found 1 info in 1 file."  # CV001 only
    assert runner.invoke(app, ["coverage"]).exit_code == 0


def test_init_appends_to_an_existing_pyproject(tmp_path):
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[project]\nname = "my-stories"\n')
    assert runner.invoke(app, ["init", str(tmp_path)]).exit_code == 0
    data = tomllib.loads(pyproject.read_text())
    assert data["project"]["name"] == "my-stories"
    assert data["tool"]["amygdala"]["corpus"] == "amygdala_stories"
    assert not (tmp_path / "amygdala.toml").exists()


def test_init_never_overwrites_and_writes_nothing_when_it_stops(tmp_path):
    (tmp_path / "manifest.json").write_text("{}")
    result = runner.invoke(app, ["init", str(tmp_path)])
    assert result.exit_code == 2
    assert result.stderr == f"error: {tmp_path / 'manifest.json'}: already exists; refusing to overwrite (nothing written)\n"
    assert files(tmp_path) == ["manifest.json"]
    (tmp_path / "manifest.json").unlink()
    (tmp_path / "pyproject.toml").write_text('[tool.amygdala]\ncorpus = "texts"\n')
    result = runner.invoke(app, ["init", str(tmp_path)])
    assert result.exit_code == 2 and "already has a [tool.amygdala] table" in result.stderr
    assert files(tmp_path) == ["pyproject.toml"]
