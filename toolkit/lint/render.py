"""Output formats: full (rich, the words highlighted in their sentence), concise, json,
github (workflow annotations), sarif (2.1.0), and the --statistics table."""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import Any
from urllib.parse import quote

from rich.console import Console
from rich.text import Text as RichText

from schemas.finding import Finding, WriteNext
from toolkit import __version__
from toolkit.lint.engine import LintResult
from toolkit.lint.rules import BY_CODE, RULES
from toolkit.lint.textutil import counted

SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
_SARIF_LEVEL = {"error": "error", "warning": "warning", "info": "note"}
_GITHUB_LEVEL = {"error": "error", "warning": "warning", "info": "notice"}
_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}
_SENTENCE_END = re.compile(r"[.!?…]+[\"'”’)]*\s+")
_CONTEXT = 90


def summary(result: LintResult) -> str:
    files = counted(result.files_checked, "file")
    if not result.findings:
        return f"All checks passed! ({files})"
    parts = [counted(n, kind) for kind, n in result.counts.items() if n]
    listed = ", ".join(parts[:-1]) + (" and " if len(parts) > 1 else "") + parts[-1]
    return f"Found {listed} in {files}."


def concise(result: LintResult) -> str:
    lines = [f"{f.path}:{f.line}:{f.column}: {f.code} {f.message}" for f in result.findings]
    return "\n".join([*lines, summary(result)]) + "\n"


def as_json(result: LintResult) -> str:
    return result.report().model_dump_json(indent=2) + "\n"


def _escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(value: str) -> str:
    return _escape_data(value).replace(":", "%3A").replace(",", "%2C")


def github(result: LintResult) -> str:
    out = []
    for f in result.findings:
        props = [f"file={_escape_property(f.path)}", f"line={f.line}", f"col={f.column}"]
        if f.end_line is not None and f.end_column is not None:
            props += [f"endLine={f.end_line}", f"endColumn={f.end_column}"]
        props.append(f"title={_escape_property(f'{f.code} {f.name}')}")
        out.append(f"::{_GITHUB_LEVEL[f.severity]} {','.join(props)}::{_escape_data(f.message)}")
    return "\n".join(out) + ("\n" if out else "")


def _uri(path: str) -> str:
    """A displayed path as a relative URI reference: spaces, commas, ``%`` and non-ASCII percent-encoded."""
    return quote(path, safe="/")


def sarif_log(result: LintResult) -> dict[str, Any]:
    """A SARIF 2.1.0 log: every rule described under the driver, one result per finding.

    The driver has no ``informationUri``: the project publishes no documentation site, and
    each rule's full text (``amygdala rule CODE``) travels in its ``help`` instead.
    """
    index = {rule.code: i for i, rule in enumerate(RULES)}
    rules = [
        {
            "id": rule.code,
            "name": rule.name,
            "shortDescription": {"text": rule.summary},
            "fullDescription": {"text": rule.explanation.split("\n\n")[0].replace("\n", " ")},
            "help": {"text": rule.explanation, "markdown": rule.explanation},
            "defaultConfiguration": {"level": _SARIF_LEVEL[rule.severity]},
            "properties": {"tags": ["amygdala", rule.code[:2]]},
        }
        for rule in RULES
    ]
    results = []
    for f in result.findings:
        location: dict[str, Any] = {"artifactLocation": {"uri": _uri(f.path)}}
        if f.path in result.sources:
            region: dict[str, int] = {"startLine": f.line, "startColumn": f.column}
            if f.end_line is not None and f.end_column is not None:
                region.update(endLine=f.end_line, endColumn=f.end_column)
            location["region"] = region
        entry: dict[str, Any] = {
            "ruleId": f.code,
            "ruleIndex": index[f.code],
            "level": _SARIF_LEVEL[f.severity],
            "message": {"text": f.message},
            "locations": [{"physicalLocation": location}],
        }
        if f.related:
            entry["relatedLocations"] = [
                {"id": i, "physicalLocation": {"artifactLocation": {"uri": _uri(path)}}} for i, path in enumerate(f.related)
            ]
        results.append(entry)
    return {
        "version": "2.1.0",
        "$schema": SARIF_SCHEMA,
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "amygdala",
                        "version": __version__,
                        "rules": rules,
                    }
                },
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }


def sarif(result: LintResult) -> str:
    return json.dumps(sarif_log(result), indent=2, ensure_ascii=False) + "\n"


def _excerpt(body: str, f: Finding) -> RichText | None:
    """The sentence around the finding's words, those words highlighted."""
    if f.end_line is None or f.end_column is None or f.end_line != f.line:
        return None
    lines = body.split("\n")
    if f.line > len(lines):
        return None
    line = lines[f.line - 1].rstrip("\r")
    start, end = f.column - 1, f.end_column - 1
    begin = 0
    for m in _SENTENCE_END.finditer(line, 0, start):
        begin = m.end()
    stop = len(line)
    m = _SENTENCE_END.search(line, end)
    if m:
        stop = m.start() + len(m.group().rstrip())
    begin = max(begin, start - _CONTEXT)
    stop = min(stop, end + _CONTEXT)
    text = RichText("    " + ("…" if begin > 0 else ""))
    text.append(line[begin:start])
    text.append(line[start:end], style=f"{_STYLE[f.severity]} underline")
    text.append(line[end:stop])
    if stop < len(line.rstrip()):
        text.append("…")
    return text


def write_next_table(summary: WriteNext, console: Console, listed: int = 4) -> None:
    """The "what to write next" block: per cluster, texts so far and the concepts to write."""
    from rich import box
    from rich.table import Table

    without = summary.concepts - summary.with_text
    console.print(
        RichText(f"What to write next ({without} of {summary.concepts} concepts have no text yet):", style="bold"),
        soft_wrap=True,
    )
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False, padding=(0, 1))
    table.add_column("cluster", no_wrap=True, overflow="ellipsis", max_width=24)
    table.add_column("texts", justify="right", no_wrap=True)
    table.add_column("next", overflow="fold", ratio=1)
    for c in summary.clusters:
        names = c.missing or c.thinnest
        more = len(c.missing) - listed if len(c.missing) > listed else 0
        shown = ", ".join(names[:listed]) + (f" (+{more})" if more else "")
        if not c.missing:
            shown = f"thinnest ({c.fewest} each): {shown}"
        table.add_row(c.cluster, f"{c.with_text}/{c.concepts}", shown)
    console.print(table)


def full(result: LintResult, console: Console, repeat_limit: int = 5) -> None:
    """Each finding with its sentence; beyond ``repeat_limit`` infos of one rule at one path,
    the rest are counted rather than printed. CV001 is shown as the "what to write next" table
    after the findings, not as a line."""
    sources = result.sources
    infos = Counter((f.code, f.path) for f in result.findings if f.severity == "info")
    shown: Counter[tuple[str, str]] = Counter()
    uncovered = False
    for f in result.findings:
        if f.code == "CV001" and result.write_next is not None:
            uncovered = True
            continue
        if f.severity == "info":
            shown[f.code, f.path] += 1
            if shown[f.code, f.path] > repeat_limit:
                if shown[f.code, f.path] == repeat_limit + 1:
                    rest = infos[f.code, f.path] - repeat_limit
                    note = f"{f.path}: … and {rest} more {f.code} infos (--format concise lists them all)"
                    console.print(RichText(note, style="dim"), soft_wrap=True)
                continue
        head = RichText()
        head.append(f"{f.path}:{f.line}:{f.column}: ", style="bold")
        head.append(f"{f.code} ", style=_STYLE[f.severity])
        head.append(f"[{f.severity}] ", style=_STYLE[f.severity])
        head.append(f.message)
        console.print(head, soft_wrap=True)
        excerpt = _excerpt(sources.get(f.path, ""), f)
        if excerpt is not None:
            console.print(excerpt, soft_wrap=True)
        for path in f.related:
            console.print(RichText(f"    related: {path}", style="dim"), soft_wrap=True)
    if uncovered and result.write_next is not None:
        write_next_table(result.write_next, console)
    console.print(summary(result), style="bold" if result.findings else "green")


def statistics_rows(result: LintResult) -> list[dict[str, Any]]:
    counts = Counter(f.code for f in result.findings)
    severity = {f.code: f.severity for f in result.findings}
    return [
        {"code": code, "name": BY_CODE[code].name, "severity": severity[code], "count": n}
        for code, n in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    ]


def statistics(result: LintResult, fmt: str) -> str:
    rows = statistics_rows(result)
    if fmt == "json":
        return json.dumps(rows, indent=2) + "\n"
    width = max((len(str(r["count"])) for r in rows), default=1)
    lines = [f"{r['count']:>{width}}  {r['code']}  [{r['severity']}]  {r['name']}" for r in rows]
    return "\n".join([*lines, summary(result)]) + "\n"
