"""Move corpora between projects as JSONL: one object per text.

Export writes every text as ``{text, concept, cluster, kind, scenario, path}`` (schema
``schemas/json/interchange-record.schema.json``); a baseline also carries its scenario's
``scenario.json`` as ``scenario_spec``, which import writes back into a scenario that has
none. Import reads that shape, or the shape
peer projects publish (``--text-field`` / ``--concept-field`` name the fields; a dotted
name such as ``meta.emotion`` reaches into nested objects):

- concept names are normalised to slugs ("Grief-stricken" -> ``grief_stricken``);
- records whose concept is not in the manifest are skipped and reported with the closest
  manifest name, unless ``include_unknown`` (lint then reports them as ST004 until the
  manifest gains the concept);
- ``kind`` and ``scenario`` fields, when present, place baselines and variants in
  ``paired/<scenario>/``; everything else is a story, written to the record's ``path``
  when that is a free story location of its concept, else to ``stories/<concept>/<n>.txt``,
  numbering on from the highest number there;
- a text identical to one the corpus (or an earlier record) already holds for the same
  concept and place is reported as already present, so importing an export is a no-op;
- nothing is ever overwritten. Every record is checked before the first file is written;
  a malformed line stops the import with ``file:line`` and writes nothing.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from schemas.reports import InterchangeRecord
from schemas.scenario import ScenarioSpec
from toolkit.authoring import is_story_name, next_number, slugify, story_name
from toolkit.concepts import closest
from toolkit.corpus import BASELINE, PAIRED, SCENARIO_SPEC, STORIES, Corpus
from base.errors import AmygdalaError
from base.jsonio import atomic_write_text, json_path, jsonl_object, read_text, write_json

KINDS = ("story", "baseline", "variant")


@dataclass(frozen=True)
class Record:
    where: str  # "file:line", for messages
    text: str
    concept: str | None
    kind: str
    scenario: str | None
    path: str | None
    spec: ScenarioSpec | None = None


@dataclass
class ImportPlan:
    """What an import will write, and what it leaves out and why."""

    writes: list[tuple[Path, Record]] = field(default_factory=list)
    specs: list[tuple[Path, ScenarioSpec]] = field(default_factory=list)
    present: list[tuple[Record, str]] = field(default_factory=list)
    unknown: Counter[str] = field(default_factory=Counter)
    suggestions: dict[str, str | None] = field(default_factory=dict)


def _field(obj: dict[str, Any], name: str) -> tuple[bool, Any]:
    if name in obj:
        return True, obj[name]
    value: Any = obj
    for part in name.split("."):
        if not isinstance(value, dict) or part not in value:
            return False, None
        value = value[part]
    return True, value


def _optional(obj: dict[str, Any], name: str, where: str) -> str | None:
    found, value = _field(obj, name)
    if not found or value is None:
        return None
    if not isinstance(value, str):
        raise AmygdalaError(f"field {name!r} is {type(value).__name__}, not a string", where)
    return value


def _required(obj: dict[str, Any], name: str, where: str) -> str:
    value = _optional(obj, name, where)
    if value is None:
        raise AmygdalaError(f"missing field {name!r}", where)
    return value


def _slug_field(value: str, name: str, where: str) -> str:
    slug = slugify(value)
    if not slug:
        raise AmygdalaError(f"field {name!r} has no letters or digits", where)
    return slug


def parse_line(raw: str, where: str, text_field: str = "text", concept_field: str = "concept") -> Record | None:
    """One JSONL line as a Record; None for a blank line; AmygdalaError naming ``where`` otherwise."""
    obj = jsonl_object(raw, where)
    if obj is None:
        return None
    text = _required(obj, text_field, where)
    if not text.strip():
        raise AmygdalaError(f"field {text_field!r} is blank", where)
    kind = _optional(obj, "kind", where) or "story"
    if kind not in KINDS:
        raise AmygdalaError(f"field 'kind' is {kind!r}; expected one of {', '.join(KINDS)}", where)
    if kind == BASELINE:
        concept = _optional(obj, concept_field, where)
        if concept is not None:
            raise AmygdalaError(f"a baseline has no concept, but {concept_field!r} is {concept!r}", where)
    else:
        concept = _slug_field(_required(obj, concept_field, where), concept_field, where)
        if concept == BASELINE:
            raise AmygdalaError(f"{concept_field!r} is 'baseline'; a baseline record has kind 'baseline'", where)
    scenario = None if kind == "story" else _slug_field(_required(obj, "scenario", where), "scenario", where)
    spec = None
    if kind == BASELINE and obj.get("scenario_spec") is not None:
        try:
            spec = ScenarioSpec.model_validate(obj["scenario_spec"])
        except ValidationError as exc:
            err = exc.errors()[0]
            raise AmygdalaError(f"scenario_spec.{json_path(err['loc'])}: {err['msg']}", where) from exc
    return Record(
        where=where, text=text, concept=concept, kind=kind, scenario=scenario, path=_optional(obj, "path", where), spec=spec
    )


def read_jsonl(path: Path, text_field: str = "text", concept_field: str = "concept") -> list[Record]:
    """Every record of a JSONL file; the first malformed line raises AmygdalaError ``file:line``."""
    content = read_text(path, encoding="utf-8-sig")
    records = []
    for number, raw in enumerate(content.splitlines(), start=1):
        record = parse_line(raw, f"{path}:{number}", text_field, concept_field)
        if record is not None:
            records.append(record)
    if not records:
        raise AmygdalaError("no records", path)
    return records


def _normal(text: str) -> str:
    return text.strip()


def _story_target(root: Path, concept: str, path: str | None, planned: set[Path]) -> Path:
    """The record's own path when it is a free story location of its concept, else the next number."""
    if path:
        parts = Path(path).parts
        wanted = None
        if parts == (STORIES, f"{concept}.txt"):
            wanted = root / STORIES / f"{concept}.txt"
        elif len(parts) == 3 and parts[:2] == (STORIES, concept) and parts[2].endswith(".txt") and is_story_name(parts[2][:-4]):
            wanted = root.joinpath(*parts)
        if wanted is not None and not wanted.exists() and wanted not in planned:
            return wanted
    folder = root / STORIES / concept
    taken = {p.stem for p in planned if p.parent == folder}
    return folder / f"{story_name(next_number(folder, taken))}.txt"


def plan_import(corpus: Corpus, records: list[Record], include_unknown: bool = False) -> ImportPlan:
    """Decide where every record goes, without writing; conflicts raise AmygdalaError."""
    plan = ImportPlan()
    # Texts the corpus (and the records planned so far) hold, by (kind, concept, scenario), then content.
    held: dict[tuple[str, str | None, str | None], dict[str, str]] = {}
    for text in corpus.texts():
        if text.text is not None:
            held.setdefault((text.kind, text.concept, text.scenario), {})[_normal(text.text)] = text.rel
    planned: set[Path] = set()
    for record in records:
        if record.concept is not None and record.concept not in corpus.manifest.concepts and not include_unknown:
            plan.unknown[record.concept] += 1
            plan.suggestions[record.concept] = closest(record.concept, list(corpus.manifest.concepts))
            continue
        key = (record.kind, record.concept, record.scenario)
        same = held.get(key, {}).get(_normal(record.text))
        if same is not None:
            plan.present.append((record, same))
            continue
        if record.kind == "story":
            target = _story_target(corpus.root, str(record.concept), record.path, planned)
        else:
            stem = BASELINE if record.kind == BASELINE else record.concept
            target = corpus.root / PAIRED / str(record.scenario) / f"{stem}.txt"
            if target.exists() or target in planned:
                raise AmygdalaError(
                    f"{target.relative_to(corpus.root).as_posix()} already holds a different text; refusing to overwrite",
                    record.where,
                )
        planned.add(target)
        plan.writes.append((target, record))
        spec_path = target.parent / SCENARIO_SPEC
        if record.spec is not None and not spec_path.exists() and spec_path not in planned:
            planned.add(spec_path)
            plan.specs.append((spec_path, record.spec))
        held.setdefault(key, {})[_normal(record.text)] = target.relative_to(corpus.root).as_posix()
    return plan


def apply_import(plan: ImportPlan) -> None:
    """Write the planned files, each atomically; on failure remove the ones this call wrote."""
    written: list[Path] = []
    try:
        for target, record in plan.writes:
            if target.exists():
                raise AmygdalaError("appeared during the import; refusing to overwrite", target)
            atomic_write_text(target, _normal(record.text) + "\n")
            written.append(target)
        for target, spec in plan.specs:
            if target.exists():
                raise AmygdalaError("appeared during the import; refusing to overwrite", target)
            write_json(target, spec)
            written.append(target)
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        raise


def export_records(corpus: Corpus) -> list[InterchangeRecord]:
    """Every text of the corpus, stories first, as interchange records."""
    records = []
    specs = {s.slug: s.spec for s in corpus.scenarios}
    for text in corpus.texts():
        if text.text is None:
            raise AmygdalaError("not valid UTF-8; cannot export", text.path)
        concept = corpus.manifest.concepts.get(text.concept) if text.concept else None
        records.append(
            InterchangeRecord(
                text=_normal(text.text),
                concept=text.concept,
                cluster=concept.cluster if concept else None,
                kind=text.kind,
                scenario=text.scenario,
                path=text.rel,
                scenario_spec=specs.get(text.scenario) if text.kind == BASELINE and text.scenario else None,
            )
        )
    return records


def to_jsonl(records: list[InterchangeRecord]) -> str:
    lines = []
    for record in records:
        data = record.model_dump(mode="json", exclude={"scenario_spec"} if record.scenario_spec is None else None)
        lines.append(json.dumps(data, ensure_ascii=False) + "\n")
    return "".join(lines)


def corpus_for_import(root: Path, manifest_path: Path) -> Corpus:
    """The corpus at ``root``, or an empty one when the folder does not exist yet (import creates it)."""
    from toolkit.corpus import load_corpus, load_manifest

    if root.exists():
        return load_corpus(root, manifest_path)
    return Corpus(root=root.resolve(), manifest=load_manifest(manifest_path), manifest_path=manifest_path)
