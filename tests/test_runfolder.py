"""trainer.runfolder.folder: both run folder formats read to the same Run, activations stream in and map
back, reports are typed and atomic, and a broken folder fails in one line naming the file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from _synthetic_run import HIDDEN, LAYERS, write_run
from schemas.analysis import QualityReport, TriageReport
from toolkit.cli import app
from base.errors import AmygdalaError
from trainer.analysis.pipeline import analyze
from trainer.runfolder.folder import QUALITY, RunFolder, from_stored, to_stored

runner = CliRunner(env={"COLUMNS": "1000"})


def test_format_1_and_format_2_read_to_the_same_run(tmp_path: Path):
    old = RunFolder.read(write_run(tmp_path / "old"))
    new = RunFolder.read(write_run(tmp_path / "new", format_version=2))
    assert (old.info.format_version, new.info.format_version) == (1, 2)
    assert old.concepts == new.concepts and old.layers == new.layers == LAYERS
    assert old.texts == new.texts and old.manifest == new.manifest
    # format 2's findings also name their corpus-relative path; otherwise the same lint.json
    assert [f.rel for f in new.lint.findings] == ["stories/loose_2_a.txt"] and old.lint.findings[0].rel is None
    assert [f.model_copy(update={"rel": None}) for f in new.lint.findings] == old.lint.findings
    np.testing.assert_array_equal(old.vectors, new.vectors)
    np.testing.assert_array_equal(old.activations, new.activations)
    assert new.activations.shape == (len(LAYERS), len(new.texts), HIDDEN) and new.activations.dtype == np.float32
    # float32 layers are memory-mapped, not read into memory
    assert all(isinstance(layer, np.memmap) for layer in new.activation_layers)
    np.testing.assert_allclose(np.linalg.norm(new.vectors, axis=-1), 1.0, atol=1e-6)
    old_result, new_result = analyze(old, probes=False), analyze(new, probes=False)
    assert old_result.quality == new_result.quality and old_result.triage == new_result.triage


@pytest.mark.parametrize(("dtype", "tolerance"), [("float16", 1e-3), ("bfloat16", 8e-3)])
def test_half_precision_storage_reads_back_as_float32(tmp_path: Path, dtype: str, tolerance: float):
    exact = RunFolder.read(write_run(tmp_path / "f32", format_version=2))
    half = RunFolder.read(write_run(tmp_path / dtype, format_version=2, store_dtype=dtype))
    assert half.info.extraction.store_dtype == dtype
    stored = np.load(tmp_path / dtype / "activations" / "layer_1.npy", mmap_mode="r")
    assert stored.dtype == (np.float16 if dtype == "float16" else np.uint16)
    assert half.activations.dtype == np.float32
    np.testing.assert_allclose(half.activations, exact.activations, rtol=tolerance, atol=tolerance)


def test_bfloat16_bits_round_to_nearest_even_like_torch():
    import torch

    values = np.random.default_rng(0).normal(size=5000).astype(np.float32) * 100
    values[:3] = [1.0 + 2**-8, 1.0 + 3 * 2**-8, -0.0]  # ties: round to even
    ours = to_stored(values, "bfloat16")
    theirs = torch.from_numpy(values).to(torch.bfloat16).view(torch.int16).numpy().view(np.uint16)
    np.testing.assert_array_equal(ours, theirs)
    np.testing.assert_array_equal(from_stored(ours, "bfloat16"), torch.from_numpy(values).to(torch.bfloat16).float().numpy())


def test_rows_can_arrive_in_any_order_and_batch(tmp_path: Path):
    states = np.random.default_rng(1).normal(size=(2, 10, 4)).astype(np.float32)
    with RunFolder.build(tmp_path / "run") as folder:
        writer = folder.activation_writer([3, 7], 10, 4)
        order = [7, 2, 9, 0, 5, 1, 8, 3, 6, 4]
        for batch in (order[:3], order[3:4], order[4:]):
            writer.write_rows(batch, states[:, batch])
        writer.close()
        for i, layer in enumerate([3, 7]):
            np.testing.assert_array_equal(np.load(folder.folder / f"activations/layer_{layer}.npy"), states[i])


def test_a_failed_build_leaves_nothing_behind(tmp_path: Path):
    with pytest.raises(RuntimeError), RunFolder.build(tmp_path / "run") as folder:
        folder.activation_writer([1], 3, 2).write_rows([0], np.ones((1, 1, 2), dtype=np.float32))
        raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []


def test_reports_are_typed_atomic_and_never_replace_a_training_file(tmp_path: Path):
    run = RunFolder.read(write_run(tmp_path / "run"))
    assert run.read_report(QUALITY, QualityReport) is None
    quality = analyze(run, probes=False, triage=False).quality
    path = run.write_report(QUALITY, quality)
    assert path == run.root / QUALITY and not [p for p in run.root.iterdir() if p.name.endswith(".tmp")]
    assert RunFolder.read_report(run.root, QUALITY, QualityReport) == quality
    with pytest.raises(AmygdalaError, match="quality.json"):
        RunFolder.read_report(run.root, QUALITY, TriageReport)  # a file of another shape: one-line error naming it
    for name in ("run.json", "readout.safetensors", "texts.json", "../elsewhere.json", "sub/dir.json"):
        with pytest.raises(ValueError):
            run.write_text(name, "x")


@pytest.mark.parametrize(
    ("format_version", "remove", "expected"),
    [
        (1, "activations.safetensors", "missing activations.safetensors, which amygdala 0.1.0 (run format 1) writes"),
        (2, "activations/layer_3.npy", "missing activations/layer_3.npy, which amygdala 0.2.0 (run format 2) writes"),
        (2, "texts.json", "missing texts.json, which amygdala 0.2.0 (run format 2) writes"),
        (1, "run.json", "missing run.json: every run folder `amygdala train` writes has one (since amygdala 0.1.0)"),
    ],
)
def test_a_missing_file_fails_in_one_line_naming_it_and_the_release(tmp_path: Path, format_version: int, remove: str, expected: str):
    run_dir = write_run(tmp_path / "run", format_version=format_version)
    (run_dir / remove).unlink()
    out = runner.invoke(app, ["validate", str(run_dir), "--no-probes"])
    assert out.exit_code == 2
    assert out.stderr == f"error: {run_dir}: {expected}\n"


def test_a_layer_file_of_the_wrong_shape_or_dtype_is_named(tmp_path: Path):
    run_dir = write_run(tmp_path / "run", format_version=2)
    np.save(run_dir / "activations" / "layer_2.npy", np.zeros((3, HIDDEN), dtype=np.float64))
    with pytest.raises(AmygdalaError) as err:
        RunFolder.read(run_dir)
    assert err.value.where == str(run_dir / "activations" / "layer_2.npy")
    assert "float64 [3, 64]" in err.value.message and "float32 [50, 64]" in err.value.message
    info = json.loads((run_dir / "run.json").read_text())
    assert info["format_version"] == 2 and info["extraction"]["store_dtype"] == "float32"


def test_float16_storage_refuses_states_beyond_its_range(tmp_path: Path):
    with RunFolder.build(tmp_path / "run") as folder:
        writer = folder.activation_writer([1], 2, 2, "float16")
        with pytest.raises(AmygdalaError, match="exceeds float16's range"):
            writer.write_rows([0, 1], np.array([[[1.0, 2.0], [7e4, 0.0]]], dtype=np.float32))
