"""`amygdala lint`, `rule`, `rules` through the real CLI: formats, selection, exit codes, paths."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from schemas.export import SCHEMA_DIR
from toolkit.cli import app

runner = CliRunner(env={"COLUMNS": "1000"})
REPORT_SCHEMA = json.loads((SCHEMA_DIR / "lint-report.schema.json").read_text())

CLEAN = (
    "For the ninth time, Noor knelt on the hallway tiles beside her grandson's trainers. Idris, six, made "
    "the loops, crossed them, and the whole thing fell apart again. He threw the lace down. Noor picked it "
    "up and put it back in his fingers. The school bus would come at quarter past eight; it was twenty to."
)
LEAKY = (
    "He found the pawn ticket in the kitchen drawer under the takeaway menus, and the fury came up "
    "through his chest. His brother was in the living room with the football on. He walked in and stood "
    "between him and the screen with the ticket held up, and his voice came out very low and very even."
)
WARNED = (
    "The jar of plums sat on the step where Ines had left it. Nervous, she watched from the bus shelter "
    "across the road while the door stayed shut and the rain started, and then the porch light came on "
    "and an old man in slippers bent down, read the label twice, and carried it inside."
)

FURY = LEAKY.index("fury") + 1
NERVOUS = WARNED.index("Nervous") + 1


def lint(root: Path, *args: str):
    return runner.invoke(app, ["lint", "--corpus", str(root), "--no-cache", *args])


@pytest.fixture
def corpus(make_corpus):
    return make_corpus(
        {
            "stories/patient.txt": CLEAN,
            "stories/furious.txt": LEAKY,
            "stories/grateful.txt": WARNED,
        }
    )


def test_exit_codes_follow_the_worst_severity(corpus):
    assert lint(corpus, "--select", "KW001").exit_code == 1
    assert lint(corpus, "--select", "KW003").exit_code == 0  # warnings only
    assert lint(corpus, "--select", "KW001", "--ignore", "KW001").exit_code == 0
    result = lint(corpus, "--select", "KW9")
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "error: --select: unknown rule code or prefix 'KW9' (see `amygdala rules`)"
    ]


def test_concise_format_is_path_line_col_code_message(corpus):
    result = lint(corpus, "--format", "concise", "--select", "KW")
    lines = result.stdout.splitlines()
    assert lines[0] == (
        f"corpus/stories/furious.txt:1:{FURY}: KW001 'fury' leaks the text's own emotion: "
        "in the keyword family of 'furious'"
    )
    assert lines[1].startswith(f"corpus/stories/grateful.txt:1:{NERVOUS}: KW003 'Nervous'")
    assert lines[-1] == "Found 1 error and 1 warning in 3 files."


def test_full_format_quotes_the_sentence(corpus):
    result = lint(corpus, "--select", "KW001")
    assert f"corpus/stories/furious.txt:1:{FURY}: KW001 [error]" in result.stdout
    assert result.stdout.splitlines()[1] == (
        "    He found the pawn ticket in the kitchen drawer under the takeaway menus, "
        "and the fury came up through his chest.…"
    )


def test_json_output_validates_against_the_exported_schema(corpus):
    result = lint(corpus, "--format", "json")
    data = json.loads(result.stdout)
    jsonschema.validate(data, REPORT_SCHEMA)
    assert data["files_checked"] == 3
    assert data["counts"]["error"] == sum(f["severity"] == "error" for f in data["findings"]) >= 1
    first = next(f for f in data["findings"] if f["code"] == "KW001")
    assert {k: first[k] for k in ("code", "severity", "path", "line", "column")} == {
        "code": "KW001", "severity": "error", "path": "corpus/stories/furious.txt", "line": 1, "column": FURY,
    }


def test_sarif_has_the_2_1_0_structure_with_rule_ids(corpus, tmp_path):
    out = tmp_path / "lint.sarif"
    result = lint(corpus, "--format", "sarif", "--output-file", str(out))
    assert result.exit_code == 1 and result.stdout == ""
    log = json.loads(out.read_text())
    assert log["version"] == "2.1.0" and log["$schema"].endswith("sarif-schema-2.1.0.json")
    run = log["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    ids = [r["id"] for r in rules]
    assert {"KW001", "KW002", "KW003", "ST001", "DU001", "CV001"} <= set(ids)
    assert all(r["shortDescription"]["text"] and r["help"]["text"] for r in rules)
    assert run["results"]
    for res in run["results"]:
        assert res["ruleId"] == ids[res["ruleIndex"]]
        assert res["level"] in ("error", "warning", "note")
        assert res["message"]["text"]
        loc = res["locations"][0]["physicalLocation"]
        assert loc["artifactLocation"]["uri"]
    kw = next(r for r in run["results"] if r["ruleId"] == "KW001")
    assert kw["locations"][0]["physicalLocation"]["region"] == {
        "startLine": 1, "startColumn": FURY, "endLine": 1, "endColumn": FURY + 4,
    }


def test_github_annotations(corpus):
    result = lint(corpus, "--format", "github", "--select", "KW")
    assert result.stdout.splitlines() == [
        f"::error file=corpus/stories/furious.txt,line=1,col={FURY},endLine=1,endColumn={FURY + 4},"
        "title=KW001 own-emotion-leak::'fury' leaks the text's own emotion: in the keyword family of 'furious'",
        f"::warning file=corpus/stories/grateful.txt,line=1,col={NERVOUS},endLine=1,endColumn={NERVOUS + 7},"
        "title=KW003 other-emotion-word::"
        "'Nervous' names another concept (nervous) as an emotion word",
    ]


def test_statistics_counts_per_rule(corpus):
    result = lint(corpus, "--statistics", "--select", "KW,CV")
    lines = result.stdout.splitlines()
    assert sorted(line.split()[1] for line in lines[:3]) == ["CV001", "KW001", "KW003"]
    assert all(line.split()[0] == "1" for line in lines[:3])  # CV001: one summary for the corpus


def test_config_selection_severity_and_per_file_ignores(corpus):
    pyproject = corpus.parent / "pyproject.toml"
    pyproject.write_text(
        '[tool.amygdala]\ncorpus = "corpus"\n[tool.amygdala.lint]\nselect = ["KW"]\n'
        'severity = { KW003 = "error" }\nper-file-ignores = { "stories/furious.txt" = ["KW001"] }\n'
    )
    result = runner.invoke(app, ["lint", "--no-cache", "--format", "concise"])
    assert result.exit_code == 1
    assert [line.split(": ")[1].split()[0] for line in result.stdout.splitlines()[:-1]] == ["KW003"]
    assert result.stdout.splitlines()[-1] == "Found 1 error in 3 files."
    result = runner.invoke(app, ["lint", "--no-cache", "--format", "json", "--extend-select", "CV001"])
    assert {f["code"] for f in json.loads(result.stdout)["findings"]} == {"KW003", "CV001"}


def test_bad_configuration_is_a_one_line_error(corpus):
    pyproject = corpus.parent / "pyproject.toml"
    pyproject.write_text('[tool.amygdala]\ncorpus = "corpus"\n[tool.amygdala.lint]\nignore = ["XX"]\n')
    result = runner.invoke(app, ["lint", "--no-cache"])
    assert result.exit_code == 2
    assert result.output.strip() == (
        f"error: {pyproject}: tool.amygdala.lint.ignore: unknown rule code or prefix 'XX' (see `amygdala rules`)"
    )
    pyproject.write_text('[tool.amygdala]\ncorpus = "corpus"\n[tool.amygdala.lint]\nseverity = { KW003 = "fatal" }\n')
    result = runner.invoke(app, ["lint", "--no-cache"])
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1
    assert "tool.amygdala.lint.severity.KW003" in result.output


def test_paths_outside_the_corpus_are_refused(corpus, tmp_path):
    outside = tmp_path / "elsewhere.txt"
    outside.write_text("x")
    result = lint(corpus, str(outside))
    assert result.exit_code == 2
    assert result.output.strip() == f"error: {outside}: not inside the corpus {corpus.resolve()}"
    result = lint(corpus, str(corpus / "stories/missing.txt"))
    assert result.exit_code == 2 and "no such file or folder" in result.output


def test_the_manifest_as_a_path_lints_the_whole_corpus(corpus, tmp_path):
    manifest = tmp_path / "elsewhere" / "manifest.json"
    manifest.parent.mkdir()
    manifest.write_bytes((corpus / "manifest.json").read_bytes())
    result = lint(corpus, "--manifest", str(manifest), "--format", "json", str(manifest))
    data = json.loads(result.stdout)
    assert data["files_checked"] == 3 and "CV001" in {f["code"] for f in data["findings"]}


def test_a_partial_run_gives_the_full_runs_findings_for_its_files(make_corpus):
    bundled = Path(__file__).resolve().parents[1] / "amygdala_stories" / "paired" / "the_comment"
    root = make_corpus({"stories/patient.txt": CLEAN})
    scenario = root / "paired" / "the_comment"
    if bundled.is_dir():
        shutil.copytree(bundled, scenario)
    else:
        scenario.mkdir(parents=True)
        (scenario / "baseline.txt").write_text(CLEAN)
    (scenario / "furious.txt").write_text(LEAKY + " " + LEAKY)
    full = json.loads(lint(root, "--format", "json").stdout)["findings"]
    part = json.loads(lint(root, "--format", "json", str(scenario / "furious.txt")).stdout)["findings"]
    expected = [f for f in full if f["path"] == "corpus/paired/the_comment/furious.txt"]
    assert part == expected and {f["code"] for f in part} >= {"KW001", "LN002"}


def test_a_folder_path_limits_the_report_to_that_folder(corpus, tmp_path):
    (corpus / "stories" / "furious.txt").rename(corpus / "stories" / "furious_old.txt")
    (corpus / "stories" / "furious").mkdir()
    (corpus / "stories" / "furious" / "ticket.txt").write_text(LEAKY)
    out = tmp_path / "report.txt"
    result = lint(corpus, "--select", "KW001,ST004", "--output-file", str(out), str(corpus / "stories" / "furious"))
    assert result.exit_code == 1 and result.stdout == ""
    lines = out.read_text().splitlines()
    assert lines[0].startswith(f"corpus/stories/furious/ticket.txt:1:{FURY}: KW001 [error]")
    assert lines[-1] == "Found 1 error in 1 file."


def test_the_bundled_corpus_has_no_error_level_findings():
    bundled = Path(__file__).resolve().parents[1] / "amygdala_stories"
    if not any(bundled.glob("stories/**/*.txt")):
        pytest.skip("the bundled corpus is not written yet")
    result = runner.invoke(app, ["lint", "--corpus", str(bundled), "--format", "json", "--no-cache"])
    data = json.loads(result.stdout)
    errors = [f"{f['path']}:{f['line']}:{f['column']}: {f['code']} {f['message']}" for f in data["findings"] if f["severity"] == "error"]
    assert errors == [] and result.exit_code == 0


def test_rule_explains_and_rules_lists(corpus):
    result = runner.invoke(app, ["rule", "KW003"])
    assert result.exit_code == 0
    assert result.stdout.startswith("KW003 other-emotion-word (warning, file rule)")
    assert "Bad" in result.stdout and "Good" in result.stdout and "the wall safe" in result.stdout
    assert runner.invoke(app, ["rule", "own-emotion-leak"]).stdout.startswith("KW001")
    bad = runner.invoke(app, ["rule", "XY123"])
    assert bad.exit_code == 2 and bad.output.strip() == "error: unknown rule 'XY123' (see `amygdala rules`)"
    listed = runner.invoke(app, ["rules"]).stdout
    assert all(code in listed for code in ("ST001", "LN002", "KW003", "AN002", "DU001", "CV001"))
    rows = json.loads(runner.invoke(app, ["rules", "--format", "json"]).stdout)
    assert rows[0] == {
        "code": "ST001", "name": "invalid-utf8", "severity": "error", "scope": "file",
        "summary": "File is not valid UTF-8 text (bad bytes, or NUL bytes of a binary file).",
    }


def test_pre_commit_hooks_file_declares_both_hooks():
    yaml = pytest.importorskip("yaml")

    hooks = yaml.safe_load((Path(__file__).resolve().parents[1] / ".pre-commit-hooks.yaml").read_text())
    by_id = {h["id"]: h for h in hooks}
    assert by_id["amygdala-lint"]["entry"] == "amygdala lint" and by_id["amygdala-lint"]["pass_filenames"] is True
    assert by_id["amygdala-coverage"]["pass_filenames"] is False and by_id["amygdala-coverage"]["always_run"] is True
