from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Callable

import pytest
from hypothesis import settings

# Property tests draw the same examples on every machine and never fail on timing: a deadline
# measures how busy the machine is, not the code.
settings.register_profile("amygdala", deadline=None, derandomize=True, database=None)
settings.load_profile("amygdala")

# Nothing in the test suite may reach a model hub; mistakes must fail fast.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

REPO = Path(__file__).resolve().parents[1]
MANIFEST = REPO / "manifest.json"
BUNDLED_CORPUS = REPO / "amygdala_stories"

MakeCorpus = Callable[[dict[str, str | bytes]], Path]


@pytest.fixture
def make_corpus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> MakeCorpus:
    """Build a corpus in a temporary folder from ``{relative path: text or bytes}``.

    The repository's manifest is copied in as ``<corpus>/manifest.json`` unless the
    mapping provides one, and the working directory moves to the temporary folder so
    the repository's own pyproject.toml is not picked up.
    """

    def build(files: dict[str, str | bytes]) -> Path:
        root = tmp_path / "corpus"
        root.mkdir(exist_ok=True)
        if "manifest.json" not in files:
            shutil.copy(MANIFEST, root / "manifest.json")
        for rel, content in files.items():
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content, encoding="utf-8")
        monkeypatch.chdir(tmp_path)
        return root

    return build
