"""``amygdala init``: a writer's starter project, ready for lint, coverage and the editor.

It writes the corpus folders with one example story, the bundled manifest with the JSON
Schema beside it (so the manifest's ``"$schema"`` resolves in the writer's repository and
editors complete and check it), the configuration: a ``[tool.amygdala]`` table appended
to an existing ``pyproject.toml``, else an ``amygdala.toml``, and a ``requirements.txt`` for
the GitHub workflow of docs/ci.md (unless one exists). Nothing is overwritten: every
target is checked before the first file is written.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from pathlib import Path

from schemas.export import SCHEMA_DIR
from toolkit.config import AMYGDALA_TOML, PYPROJECT
from toolkit.corpus import DEFAULT_CORPUS, PAIRED, STORIES
from base.errors import AmygdalaError
from base.jsonio import atomic_write_text, read_text

BUNDLED_MANIFEST = Path(__file__).parent / "data" / "manifest.json"
MANIFEST = "manifest.json"
MANIFEST_SCHEMA = "manifest.schema.json"
EXAMPLE_CONCEPT = "patient"
# A finished story that passes every rule: it shows the style (the emotion in what people do,
# never named) better than a description of it would.
EXAMPLE_STORY = (
    "For the ninth time, Noor knelt on the hallway tiles beside her grandson's trainers. \"Bunny ears,\" she "
    "said. \"Loop, and loop.\" Idris, six, made the loops, crossed them, and the whole thing fell apart again. "
    "He threw the lace down. Noor picked it up and put it back in his fingers. \"Again. Slowly. We have all "
    "morning.\" The school bus would come at quarter past eight; it was twenty to. She watched his thumbs "
    "fumble, said nothing, let him get it wrong, let him try once more. Her voice never got faster. She held "
    "the rabbit ear steady while he pulled.\n"
)
_SETTINGS = f"""\
corpus = "{DEFAULT_CORPUS}"
manifest = "{MANIFEST}"
"""
_SECTIONS = """\

[{prefix}lint]
# select = ["ALL"]            # every rule (the default); see `amygdala rules`
# story-words = [40, 120]

[{prefix}coverage]
# The bars `amygdala coverage` (and its pre-commit hook) fail below; none while the corpus grows.
# require = ["all", "clusters"]
"""


REQUIREMENTS = "requirements.txt"


def ci_requirement(direct_url: str | None) -> str | None:
    """The requirement line CI can install this amygdala from, or None when it cannot be known.

    ``direct_url`` is the installed distribution's ``direct_url.json`` (PEP 610): a git
    checkout names its repository and commit. A local folder or an unknown source gives None:
    the PyPI name ``amygdala`` belongs to another project, so no index name is guessed.
    """
    if not direct_url:
        return None
    try:
        data = json.loads(direct_url)
    except ValueError:
        return None
    vcs = data.get("vcs_info") if isinstance(data, dict) else None
    url = data.get("url", "") if isinstance(data, dict) else ""
    if isinstance(vcs, dict) and vcs.get("vcs") == "git" and vcs.get("commit_id") and url and not url.startswith("file:"):
        return f"amygdala @ git+{url}@{vcs['commit_id']}"
    return None


def requirements_text(requirement: str | None) -> str:
    """``requirements.txt`` for the GitHub workflow of docs/ci.md (its install step reads it)."""
    head = "# What CI installs to lint the corpus (docs/ci.md); amygdala needs no torch for linting.\n"
    if requirement is not None:
        return head + requirement + "\n"
    return head + (
        "# amygdala was installed here from a local folder (or a source amygdala cannot see), which CI cannot\n"
        "# reach. Put the requirement CI can install on the next line, for example\n"
        "#   amygdala @ git+https://github.com/OWNER/amygdala@v0.1.0\n"
        "# (not the bare name: the PyPI package called amygdala is another project).\n"
    )


def _installed_requirement() -> str | None:
    from importlib import metadata

    try:
        return ci_requirement(metadata.distribution("amygdala").read_text("direct_url.json"))
    except metadata.PackageNotFoundError:
        return None


@dataclass(frozen=True)
class Starter:
    """``requirement``: the line written to requirements.txt, None when the writer must fill it in
    (or when a requirements.txt existed and was left alone)."""

    root: Path
    config: Path
    written: list[Path]
    requirement: str | None = None


def _config_text(pyproject: str | None) -> str:
    if pyproject is None:
        return "# amygdala's configuration (see `amygdala --help`); paths are relative to this file.\n" + _SETTINGS + _SECTIONS.format(prefix="")
    separator = "" if not pyproject or pyproject.endswith("\n\n") else ("\n" if pyproject.endswith("\n") else "\n\n")
    return pyproject + separator + "[tool.amygdala]\n" + _SETTINGS + _SECTIONS.format(prefix="tool.amygdala.")


def init_project(root: Path) -> Starter:
    """Write a starter project into ``root`` (created if missing); raise AmygdalaError before
    writing anything if a file it would write exists or the folder is already configured."""
    root = root.resolve()
    if root.exists() and not root.is_dir():
        raise AmygdalaError("not a folder", root)
    corpus = root / DEFAULT_CORPUS
    story = corpus / STORIES / EXAMPLE_CONCEPT / "01.txt"
    keep = corpus / PAIRED / ".gitkeep"  # git keeps no empty folder; lint skips hidden files
    pyproject_path = root / PYPROJECT
    pyproject: str | None = None
    if pyproject_path.is_file():
        pyproject = read_text(pyproject_path)
        try:
            configured = "amygdala" in tomllib.loads(pyproject).get("tool", {})
        except tomllib.TOMLDecodeError as exc:
            raise AmygdalaError(f"invalid TOML: {exc}", pyproject_path) from exc
        if configured:
            raise AmygdalaError("already has a [tool.amygdala] table; nothing written", pyproject_path)
    config = pyproject_path if pyproject is not None else root / AMYGDALA_TOML
    targets = [root / MANIFEST, root / MANIFEST_SCHEMA, story, keep]
    if pyproject is None:
        targets.append(config)
    for path in targets:
        if path.exists():
            raise AmygdalaError("already exists; refusing to overwrite (nothing written)", path)
    if corpus.exists():
        raise AmygdalaError("already exists; refusing to write a corpus into it (nothing written)", corpus)

    manifest = json.loads(read_text(BUNDLED_MANIFEST))
    manifest["$schema"] = MANIFEST_SCHEMA
    atomic_write_text(root / MANIFEST_SCHEMA, read_text(SCHEMA_DIR / MANIFEST_SCHEMA))
    atomic_write_text(root / MANIFEST, json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    atomic_write_text(story, EXAMPLE_STORY)
    atomic_write_text(keep, "")
    atomic_write_text(config, _config_text(pyproject))
    written = [root / MANIFEST, root / MANIFEST_SCHEMA, story, keep, config]
    requirement = None
    if not (root / REQUIREMENTS).exists():  # a project's own requirements.txt is left alone
        requirement = _installed_requirement()
        atomic_write_text(root / REQUIREMENTS, requirements_text(requirement))
        written.append(root / REQUIREMENTS)
    return Starter(root=root, config=config, written=written, requirement=requirement)
