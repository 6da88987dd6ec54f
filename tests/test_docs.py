"""The README and docs/ cannot drift: every `$ amygdala ...` line of a console block parses against
the real CLI (commands, options, choices), the cheap ones run on the bundled corpus, the train
options table matches TrainConfig, and links and file paths point at files that exist."""

from __future__ import annotations

import re
import shlex
from enum import Enum
from pathlib import Path

import pytest
import typer
from typer._click import ClickException  # typer vendors its own click
from typer.testing import CliRunner

from toolkit.cli import app
from toolkit.cli.train_cmd import options_table

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# Read-only and quick on the bundled corpus: these are run, the rest only parsed.
RUN = {"lint", "rules", "rule", "coverage", "stats", "concepts"}
SHELL = {">", ">>", "|", "<", "&&", ";", "2>&1"}


def console_commands(path: Path) -> list[tuple[int, list[str]]]:
    """(line number, argv after `amygdala`) of every `$ amygdala ...` line in a ```console block."""
    out, in_console, pending, start = [], False, "", 0
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.startswith("```"):
            in_console = line.strip() == "```console"
            continue
        if not in_console:
            continue
        if pending:
            line, pending = pending + " " + line.strip(), ""
        elif line.startswith("$ "):
            start, line = n, line[2:]
        else:
            continue  # output shown under a command
        if line.endswith("\\"):
            pending = line[:-1]
            continue
        words = shlex.split(line, comments=True)
        while words and re.match(r"^[A-Z_]+=", words[0]):  # VAR=value prefixes
            words.pop(0)
        cut = next((i for i, w in enumerate(words) if w in SHELL), len(words))
        if words and words[0] == "amygdala":
            out.append((start, words[1:cut]))
    return out


def all_commands() -> list[tuple[str, list[str]]]:
    return [(f"{p.relative_to(ROOT)}:{n}", argv) for p in DOCS for n, argv in console_commands(p)]


def parse(argv: list[str]) -> list[str]:
    """Parse argv with the real click command tree (types, choices, required arguments); the command path."""
    command = typer.main.get_command(app)
    ctx = command.make_context("amygdala", list(argv), resilient_parsing=False)
    names = []
    while hasattr(command, "resolve_command"):  # a group
        rest = [*ctx._protected_args, *ctx.args]
        if not rest:
            break
        name, command, rest = command.resolve_command(ctx, rest)
        names.append(name)
        ctx = command.make_context(name, rest, parent=ctx)
    return names


def test_the_docs_show_commands():
    shown = all_commands()
    assert len(shown) >= 30
    assert {"lint", "train", "triage", "compare", "coverage"} <= {argv[0] for _, argv in shown if argv and not argv[0].startswith("-")}


@pytest.mark.parametrize(("where", "argv"), all_commands(), ids=lambda x: x if isinstance(x, str) else None)
def test_every_command_parses(where: str, argv: list[str], monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(ROOT)
    try:
        parse(argv)
    except ClickException as exc:
        pytest.fail(f"{where}: amygdala {' '.join(argv)}: {exc.format_message()}")


def test_the_cheap_commands_run_on_the_bundled_corpus(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(ROOT)
    runner = CliRunner()
    ran: set[str] = set()
    for where, argv in all_commands():
        path = parse(argv)  # the command path, e.g. ["lint"]
        if path[:1] and path[0] in RUN and path[0] not in ran:  # the first example of each command
            result = runner.invoke(app, argv)
            expected = {0, 1} if argv[0] == "lint" else {0}  # lint's exit 1 means findings; the corpus has none
            assert result.exit_code in expected, f"{where}: amygdala {' '.join(argv)}\n{result.output}"
            ran.add(path[0])
    assert ran == RUN


def test_the_options_table_is_the_one_trainconfig_makes():
    assert options_table() in (ROOT / "docs" / "training.md").read_text(encoding="utf-8")


def test_every_train_option_of_the_cli_is_a_trainconfig_field_or_the_commands_own():
    from schemas.run import TrainConfig

    train = typer.main.get_command(app).commands["train"]  # type: ignore[attr-defined]
    own = {"corpus", "manifest", "config", "out", "analyze", "no_probes", "steer_check"}
    params = {p.name: p for p in train.params}
    assert set(params) == own | set(TrainConfig.model_fields)
    for name, field in TrainConfig.model_fields.items():
        param = params[name]
        if name == "use_cache":
            assert param.opts == ["--no-cache"] and param.default is False
            continue
        default = param.default.value if hasattr(param.default, "value") else param.default
        assert default == field.default, name
        choices = param.type_descriptor.annotation
        if isinstance(choices, type) and issubclass(choices, Enum):
            assert [c.value for c in choices] == list(field.annotation.__args__), name


LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def test_links_point_at_files():
    broken = []
    for doc in DOCS:
        for target in LINK.findall(doc.read_text(encoding="utf-8")):
            if re.match(r"^[a-z]+:", target):
                continue
            resolved = (doc.parent / target).resolve()
            rel = resolved.relative_to(ROOT).as_posix() if resolved.is_relative_to(ROOT) else str(resolved)
            if not resolved.exists():
                broken.append(f"{doc.relative_to(ROOT)} -> {target}")
    assert broken == []


def test_files_named_in_the_architecture_exist():
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    named = set(re.findall(r"`((?:toolkit|trainer|schemas|tests|bench|docs)/[\w/.]+\.(?:py|md))`", text))
    assert len(named) >= 20
    assert sorted(p for p in named if not (ROOT / p).exists()) == []


def test_the_readme_is_short_and_starts_with_the_two_commands():
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 250
    assert "make demo" in lines[3] and "make test" in lines[4]
    targets = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^demo:", targets, re.M) and re.search(r"^test:", targets, re.M)


def _bundled_texts() -> int:
    from toolkit.corpus import load_corpus

    return sum(1 for _ in load_corpus(ROOT / "amygdala_stories", ROOT / "manifest.json").texts())


# The writer-facing docs that quote the bundled corpus's size; a figure from an earlier corpus
# must say so ("the first release's 300 texts"), today's must be today's.
SIZED_DOCS = ["docs/lint.md", "docs/editors.md", "docs/lint-accuracy.md", "docs/corpus-tools.md", "README.md"]
_SIZE = re.compile(r"bundled corpus[^.;:()]{0,30}?\(?(?:of |about |, )?([\d,]{3,}) (?:texts|files)|([\d,]{3,}) (?:texts|files) of the bundled corpus")


def test_the_bundled_corpus_size_quoted_in_the_writer_docs_is_todays():
    # issue 20: "1,100 texts" (editors.md, benchmarks.md) and "300 files" (lint.md) where the corpus has 919.
    n = _bundled_texts()
    quoted = []
    for rel in SIZED_DOCS:
        for match in _SIZE.finditer((ROOT / rel).read_text(encoding="utf-8")):
            figure = int((match.group(1) or match.group(2)).replace(",", ""))
            quoted.append((rel, figure))
    assert quoted, "no figure found: the pattern no longer matches the docs"
    assert [(rel, figure) for rel, figure in quoted if figure != n] == []


def test_the_lint_sample_output_is_what_lint_prints(tmp_path, monkeypatch):
    """docs/lint.md's sample: the bundled corpus with one leak and one other-emotion word written in."""
    import shutil

    doc = (ROOT / "docs" / "lint.md").read_text(encoding="utf-8")
    sample = re.search(r"```text\n(amygdala_stories/stories/furious/.*?)```", doc, re.S).group(1)
    shutil.copytree(ROOT / "amygdala_stories", tmp_path / "amygdala_stories")
    for name in ("manifest.json", "spelling.txt"):
        shutil.copy(ROOT / name, tmp_path / name)
    (tmp_path / "pyproject.toml").write_text(
        '[tool.amygdala]\ncorpus = "amygdala_stories"\nmanifest = "manifest.json"\n[tool.amygdala.lint]\nword-list = "spelling.txt"\n'
    )
    for rel, old, new in [
        ("stories/furious/01.txt", "The room narrows to his face.", "The fury comes up through your chest."),
        ("stories/grateful/01.txt", "I stood there dripping,", "Nervous, I stood there dripping,"),
    ]:
        path = tmp_path / "amygdala_stories" / rel
        assert old in path.read_text(encoding="utf-8")
        path.write_text(path.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    result = CliRunner(env={"COLUMNS": "100"}).invoke(app, ["lint", "--no-cache"])
    assert result.exit_code == 1
    assert result.stdout == sample
