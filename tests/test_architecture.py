"""The package layering: no import circles (module- or function-level) in base/, schemas/, toolkit/
and trainer/; the packages form a chain (base < schemas < toolkit core < trainer < toolkit.cli);
only trainer/runfolder/folder.py names run files."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("base", "toolkit", "trainer", "schemas")


def module_files() -> dict[str, Path]:
    out = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join(parts)] = path
    return out


def imports_of(name: str, path: Path, modules: set[str]) -> set[str]:
    """Every project module ``path`` imports, wherever the import statement is (TYPE_CHECKING included)."""
    is_package = path.name == "__init__.py"
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".") if is_package else name.split(".")[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            # ``from trainer.report import formatting`` imports the module trainer.report.formatting
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def import_graph() -> dict[str, set[str]]:
    files = module_files()
    return {name: imports_of(name, path, set(files)) for name, path in files.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return out


def test_the_cycle_finder_finds_a_planted_circle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_import_graph_sees_function_level_and_relative_imports(tmp_path: Path):
    (tmp_path / "m.py").write_text("def f():\n    from trainer import linalg\n    import schemas.run\n")
    assert imports_of("trainer.x", tmp_path / "m.py", {"trainer", "trainer.linalg", "schemas.run"}) == {"trainer.linalg", "schemas.run"}


def test_no_import_circles():
    assert cycles(import_graph()) == []


# The packages in the order they may import each other: each imports only those before it.
CHAIN = ("base", "schemas", "toolkit", "trainer", "toolkit.cli")


def chain_rank(module: str) -> int:
    """The position of ``module``'s package in ``CHAIN`` (its longest matching prefix)."""
    matches = [i for i, package in enumerate(CHAIN) if module == package or module.startswith(package + ".")]
    return max(matches, key=lambda i: len(CHAIN[i]))


def upward_imports(graph: dict[str, set[str]]) -> list[tuple[str, str]]:
    """Every import of a package later in the chain (at module or function level)."""
    return sorted((name, target) for name, targets in graph.items() for target in targets if chain_rank(target) > chain_rank(name))


def test_the_chain_check_finds_a_planted_upward_import(tmp_path: Path):
    (tmp_path / "m.py").write_text("import base.errors\n\ndef f():\n    from toolkit import corpus\n")
    modules = {"base.errors", "toolkit", "toolkit.corpus", "schemas.run"}
    graph = {"schemas.run": imports_of("schemas.run", tmp_path / "m.py", modules)}
    assert upward_imports(graph) == [("schemas.run", "toolkit.corpus")]
    assert chain_rank("toolkit.cli.train_cmd") == 4 and chain_rank("toolkit.lint.engine") == 2 and chain_rank("trainer") == 3
    # the CLI may import everything, and nothing imports it
    assert upward_imports({"toolkit.cli.x": {"trainer.run", "base.errors"}, "trainer.run": {"toolkit.corpus"}}) == []
    assert upward_imports({"trainer.run": {"toolkit.cli._app"}}) == [("trainer.run", "toolkit.cli._app")]


def test_packages_form_a_chain():
    """base < schemas < toolkit (core) < trainer < toolkit.cli: no package imports one later in the chain."""
    assert upward_imports(import_graph()) == []


RUN_FILE_NAMES = re.compile(
    r"""["'](run\.json|readout\.json|readout\.safetensors|texts\.json|lint\.json|activations\.safetensors|"""
    r"""quality\.json|validation\.json|triage\.json|triage\.md|report\.html)["']"""
)


def test_only_runfolder_names_the_run_files():
    named = sorted(
        str(path.relative_to(ROOT))
        for package in ("trainer",)
        for path in (ROOT / package).rglob("*.py")
        if path != ROOT / "trainer" / "runfolder" / "folder.py" and RUN_FILE_NAMES.search(path.read_text(encoding="utf-8"))
    )
    assert named == []


MAX_FUNCTION_LINES = 60
LONG = re.compile(r"#\s*long:\s*\S")


def long_functions(source: str, limit: int = MAX_FUNCTION_LINES) -> list[tuple[str, int, int]]:
    """(name, first line, length) of every function or method over ``limit`` lines, decorators left
    out, whose ``def`` line does not carry a ``# long: <reason>`` comment."""
    lines = source.splitlines()
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            length = node.end_lineno - node.lineno + 1
            if length > limit and not LONG.search(lines[node.lineno - 1]):
                out.append((node.name, node.lineno, length))
    return out


def test_the_length_check_measures_functions_and_honours_a_stated_reason():
    body = "".join(f"    x{i} = {i}\n" for i in range(60))
    source = f"def short():\n    pass\n\n\ndef long_one():\n{body}\n\ndef excused():  # long: a table of cases\n{body}\n\nclass A:\n    def method(self):\n{body.replace('    ', '        ')}"
    assert long_functions(source) == [("long_one", 5, 61), ("method", 132, 61)]
    assert long_functions("def bare():  # long:\n" + body) == [("bare", 1, 61)]  # a reason must be written


def test_no_function_in_trainer_is_over_60_lines_without_a_reason():
    found = [
        f"{path.relative_to(ROOT)}:{line} {name} ({length} lines)"
        for path in sorted((ROOT / "trainer").rglob("*.py"))
        for name, line, length in long_functions(path.read_text(encoding="utf-8"))
    ]
    assert found == []


def _defined_names(path: Path) -> set[str]:
    return {n.name for n in ast.walk(ast.parse(path.read_text(encoding="utf-8"))) if isinstance(n, (ast.FunctionDef, ast.ClassDef))}


def test_the_figure_table_names_functions_and_templates_that_exist():
    """docs/architecture.md's "Where each figure comes from": every `module.function` and template it names is real."""
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    table = text.split("## Where each figure comes from", 1)[1].split("\n## ", 1)[0]
    sources = [p for package in ("trainer", "toolkit") for p in (ROOT / package).rglob("*.py")]
    templates = {p.name for p in (ROOT / "trainer" / "report" / "templates").rglob("*.j2")}
    checked, missing = 0, []
    for token in re.findall(r"`([^`]+)`", table):
        if token.endswith(".j2"):
            checked += 1
            if token.rsplit("/", 1)[-1] not in templates:
                missing.append(token)
            continue
        match = re.fullmatch(r"([\w/]+?)(?:\.py: |\.)(\w+)(?:\(.*\))?", token)
        if not match or match.group(2) in ("py", "json") or token.endswith(".json"):
            continue  # a field name or a file, not a function
        module, name = match.groups()
        # a module (report/wording -> .../report/wording.py) or a package (stats -> .../stats/*.py)
        files = [p for p in sources if p.with_suffix("").as_posix().endswith("/" + module) or f"/{module}/" in p.as_posix()]
        checked += 1
        if not any(name in _defined_names(p) for p in files):
            missing.append(token)
    assert checked > 60 and missing == []
