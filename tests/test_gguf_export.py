"""llama.cpp control vectors: amygdala layer L is written as direction.(L-1), read back with the gguf package."""

from __future__ import annotations

import numpy as np
import pytest

from base.errors import AmygdalaError
from trainer.runfolder.folder import control_vector_layers, read_control_vector, write_control_vectors


def test_layer_l_is_written_as_direction_l_minus_1(tmp_path):
    rng = np.random.default_rng(0)
    layers = [1, 2, 5, 6, 7]
    vectors = rng.standard_normal((len(layers), 2, 8)).astype(np.float32)
    # A 6-block model: amygdala layers 1..6; layer 7 is past the last block.
    written, warnings = write_control_vectors(tmp_path, ["calm", "afraid"], layers, vectors, "llama", n_layers=6)
    assert [p.name for p in written] == ["calm.gguf", "afraid.gguf"]
    assert len(warnings) == 2 and "layer 1" in warnings[0] and "direction.0" in warnings[0] and "layer 7" in warnings[1]
    meta, directions = read_control_vector(tmp_path / "afraid.gguf")
    assert meta == {"general.architecture": "controlvector", "controlvector.model_hint": "llama", "controlvector.layer_count": 3}
    assert sorted(directions) == [1, 4, 5]
    for i, layer in enumerate(layers):
        if 2 <= layer <= 6:
            np.testing.assert_array_equal(directions[layer - 1], vectors[i, 1])


def test_no_steerable_layer_is_an_error_and_writes_nothing(tmp_path):
    assert control_vector_layers([1], 4) == ([], [control_vector_layers([1], 4)[1][0]])
    with pytest.raises(AmygdalaError, match="none of the layers"):
        write_control_vectors(tmp_path / "g", ["calm"], [1], np.ones((1, 1, 4), np.float32), "llama", n_layers=4)
    assert not (tmp_path / "g").exists()
