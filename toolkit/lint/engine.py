"""``lint_corpus``: run every rule over a corpus (or part of it), through the cache.

Per-file rules run once per file content and their results are cached together with the
facts the cross-file rules need (word count, MinHash bands, lemmas of paired texts, the
terms a baseline leans on). Cross-file rules are recomputed from those facts on every
run, so they stay right when only some files change, and a run where every file hits the
cache never imports spaCy (or numpy).
"""

from __future__ import annotations

import contextlib
import functools
import gc
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Iterator

from schemas.finding import Finding, LintReport, Severity, WriteNext
from toolkit.config import Config, LintSettings
from toolkit.corpus import BASELINE, SCENARIO_SPEC, Corpus, Text
from base.errors import AmygdalaError
from toolkit.lint.cache import FileEntry, LintCache, corpus_key, fingerprint, key_of
from toolkit.lint.lexicon import Lexicon, build_lexicon
from toolkit.lint.model import CorpusContext, FileContext, Hit, is_corpus_rule, is_file_rule, scenario_texts
from toolkit.lint.dedup import bands, rows_per_band
from toolkit.lint.rules import BY_CODE, RULES
from toolkit.lint.textutil import count_words, parseable, printable_name
from toolkit.lint.selection import FileIgnores, enabled_codes, severities

if TYPE_CHECKING:
    from toolkit.lint.nlp import Analysis

CACHE_DIR = Path(".amygdala_cache") / "lint"
_FILE_RULES = [rule for rule in RULES if is_file_rule(rule)]
_CORPUS_RULES = [rule for rule in RULES if is_corpus_rule(rule)]
_BATCH = 512


@dataclass
class LintResult:
    """Findings sorted by path, line and column; ``cached`` counts files served from the cache."""

    findings: list[Finding]
    files_checked: int
    cached: int
    corpus: Corpus
    write_next: WriteNext | None = None

    @property
    def counts(self) -> dict[Severity, int]:
        counts: dict[Severity, int] = {"error": 0, "warning": 0, "info": 0}
        for finding in self.findings:
            counts[finding.severity] += 1
        return counts

    @property
    def has_errors(self) -> bool:
        return any(f.severity == "error" for f in self.findings)

    @functools.cached_property
    def sources(self) -> dict[str, str]:
        """The content of each text with a finding, by its displayed path (for renderers that quote it)."""
        flagged = {f.path for f in self.findings}
        shown = ((display_path(self.corpus.root, t.rel), t) for t in self.corpus.texts())
        return {path: t.text or "" for path, t in shown if path in flagged}

    def report(self) -> LintReport:
        return LintReport(findings=self.findings, files_checked=self.files_checked, counts=self.counts, write_next=self.write_next)


def lint_cache_dir(config: Config | None, corpus: Corpus) -> Path:
    """``.amygdala_cache/lint`` next to the configuration file, else next to the corpus folder."""
    base = config.root if config is not None and config.source is not None else corpus.root.parent
    return base / CACHE_DIR


class _Scope:
    """The files and folders a run reports on (relative to the corpus root; "" is all of it).

    A baseline or a scenario.json stands for its whole scenario, because every variant is
    measured against them; the manifest stands for the whole corpus.
    """

    def __init__(self, corpus: Corpus, paths: Iterable[Path] | None) -> None:
        if paths is None:
            self.selected = [""]
            return
        self.selected = []
        for path in paths:
            resolved = path.resolve()
            if not resolved.exists():
                raise AmygdalaError("no such file or folder", path)
            if resolved == corpus.manifest_path.resolve():
                self.selected.append("")
                continue
            try:
                rel = resolved.relative_to(corpus.root).as_posix()
            except ValueError as exc:
                raise AmygdalaError(f"not inside the corpus {corpus.root}", path) from exc
            rel = "" if rel == "." else rel
            if resolved.name in (f"{BASELINE}.txt", SCENARIO_SPEC) and rel.startswith("paired/") and rel.count("/") == 2:
                rel = rel.rsplit("/", 1)[0]
            self.selected.append(rel)

    @property
    def whole(self) -> bool:
        return "" in self.selected

    def __call__(self, rel: str) -> bool:
        return any(
            s == "" or rel == s or rel.startswith(s + "/") or (rel and s.startswith(rel + "/"))
            for s in self.selected
        )


@functools.lru_cache(maxsize=16)
def _display_root(corpus_root: Path, cwd: str) -> str:
    try:
        return corpus_root.relative_to(cwd).as_posix()
    except ValueError:
        return corpus_root.as_posix()


def display_path(corpus_root: Path, rel: str) -> str:
    """A corpus path as findings show it: relative to the working directory when inside it.

    A name that is not valid UTF-8 is shown with U+FFFD for its bad bytes (ST006 reports it),
    so every output format can print and encode it.
    """
    root = _display_root(corpus_root, os.getcwd())
    rel = printable_name(rel)
    if not rel:
        return root
    return rel if root == "." else f"{root}/{rel}"


def _file_entry(text: Text, settings: LintSettings, lexicon: Lexicon, analysis: "Analysis | None", rows: int) -> FileEntry:
    body = text.text or ""
    ctx = FileContext(text, body, settings, lexicon, analysis)
    paired = analysis is not None and text.scenario is not None
    return FileEntry(
        hits=[hit.to_row() for rule in _FILE_RULES for hit in rule.check(ctx)],
        words=count_words(body),
        bands=bands(analysis.word_hashes(), rows) if analysis is not None else "",
        lemmas=analysis.lemmas() if paired else None,
        leaned=analysis.leaned_terms() if paired and text.kind == "baseline" else None,
    )


def _analyzed(texts: list[Text], lexicon: Lexicon) -> Iterator[tuple[Text, "Analysis | None"]]:
    """Each text with its NLP analysis (None when there is nothing to analyze), in order."""
    with_body = [t for t in texts if parseable(t.text)]
    if with_body:
        from toolkit.lint.nlp import analyze_stream

        analyses = analyze_stream([t.text or "" for t in with_body], lexicon)
    pending = iter(with_body)
    following = next(pending, None)
    for text in texts:
        if text is following:
            yield text, next(analyses)
            following = next(pending, None)
        else:
            yield text, None


def _anchor_key(anchors: list[str]) -> str:
    return hashlib.sha256(json.dumps(anchors).encode()).hexdigest()[:32]


def lint_corpus(
    corpus: Corpus,
    settings: LintSettings | None = None,
    paths: Iterable[Path] | None = None,
    cache_dir: Path | None = None,
    use_cache: bool = True,
    cache: LintCache | None = None,
) -> LintResult:
    """Lint ``corpus`` (or only ``paths`` inside it) and return the findings.

    ``cache_dir`` defaults to ``.amygdala_cache/lint`` next to the corpus folder (the CLI
    passes ``lint_cache_dir(config, corpus)``); ``use_cache=False`` neither reads nor writes
    it. A long-lived caller (the language server) passes its own ``cache``, made by
    ``open_cache``, which this neither replaces nor saves. Raises AmygdalaError for a path
    outside the corpus or an invalid setting.
    """
    settings = settings or LintSettings()
    enabled = enabled_codes(settings)
    severity = severities(settings)
    file_ignores = FileIgnores(settings)
    scope = _Scope(corpus, paths)
    lexicon = build_lexicon(corpus.manifest)
    owned = cache is None
    if cache is None:
        cache = open_cache(corpus, settings, (cache_dir or corpus.root.parent / CACHE_DIR) if use_cache else None)

    texts = list(corpus.texts())
    keys = {t.rel: key_of(t.rel, cache.digest(t)) for t in texts}
    touched = [s for s in corpus.scenarios if any(scope(t.rel) for t in scenario_texts(s))]
    touched_rels = {t.rel for s in touched for t in scenario_texts(s)}
    in_scope = [t for t in texts if scope(t.rel)]
    # DU001 compares against every text, so then every text needs its facts (and NLP).
    full = texts if "DU001" in enabled else [t for t in texts if scope(t.rel) or t.rel in touched_rels]

    with _objects_frozen():
        entries, computed = _entries(full, keys, cache, settings, lexicon)

    anchors = _anchors(touched, cache)
    ctx = CorpusContext(
        corpus=corpus,
        settings=settings,
        lexicon=lexicon,
        in_scope=scope,
        root_in_scope=scope.whole,
        words={rel: e.words for rel, e in entries.items()},
        bands={rel: e.bands for rel, e in entries.items() if e.bands},
        lemmas={rel: e.lemmas for rel, e in entries.items() if e.lemmas is not None},
        leaned={rel: e.leaned for rel, e in entries.items() if e.leaned is not None},
        anchors=anchors,
        corpus_key=corpus_key(list(keys.values())),
        memos=dict(cache.memos),
    )

    hits: list[Hit] = []
    for text in in_scope:
        hits.extend(Hit.from_row(text.rel, row) for row in entries[text.rel].hits)
    for rule in _CORPUS_RULES:
        if rule.code in enabled:
            hits.extend(rule.check(ctx))

    findings = _findings(hits, corpus.root, enabled, severity, file_ignores)
    summary = None
    if scope.whole:
        from toolkit.coverage import write_next
        from toolkit.lint.rules.cv001_uncovered_concept import texts_per_concept

        summary = write_next(corpus.manifest, texts_per_concept(ctx))
    cache.put_memos(ctx.memos)
    if use_cache and owned:
        live_anchors = {_anchor_key(s.spec.anchors) for s in corpus.scenarios if s.spec and s.spec.anchors}
        cache.save(set(keys.values()), live_anchors, set(keys))
    return LintResult(findings=findings, files_checked=len(in_scope), cached=len(full) - computed, corpus=corpus, write_next=summary)


def open_cache(corpus: Corpus, settings: LintSettings, cache_dir: Path | None) -> LintCache:
    """The cache store for this manifest and these rule options (in memory only when ``cache_dir`` is None)."""
    options = {
        "story_words": list(settings.story_words),
        "paired_tolerance": settings.paired_tolerance,
        "duplicate_threshold": settings.duplicate_threshold,
        "words": sorted(settings.accepted_words()),
    }
    return LintCache(cache_dir, fingerprint(corpus.manifest_path.read_bytes(), options))


@contextlib.contextmanager
def _objects_frozen() -> Iterator[None]:
    """Keep the garbage collector from re-walking the loaded corpus while the NLP allocates.

    Every full collection traverses all live objects, and a large corpus is many of them:
    at 100k texts it more than doubled the NLP time. Left alone if the caller froze objects.
    """
    if gc.get_freeze_count():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _entries(
    texts: list[Text], keys: dict[str, str], cache: LintCache, settings: LintSettings, lexicon: Lexicon
) -> tuple[dict[str, FileEntry], int]:
    """Each text's per-file findings and facts, from the cache or computed (and cached)."""
    rows = rows_per_band(settings.duplicate_threshold)
    entries: dict[str, FileEntry] = {}
    misses: list[Text] = []
    for text in texts:
        entry = cache.files.get(keys[text.rel])
        if entry is not None:
            entries[text.rel] = entry
        else:
            misses.append(text)
    for start in range(0, len(misses), _BATCH):
        for text, analysis in _analyzed(misses[start : start + _BATCH], lexicon):
            entry = entries[text.rel] = _file_entry(text, settings, lexicon, analysis, rows)
            cache.put_file(keys[text.rel], entry)
    return entries, len(misses)


def _anchors(scenarios: list, cache: LintCache) -> dict[str, list[list[str]]]:
    out: dict[str, list[list[str]]] = {}
    for scenario in scenarios:
        if scenario.spec is None or not scenario.spec.anchors:
            continue
        key = _anchor_key(scenario.spec.anchors)
        if key not in cache.anchors:
            from toolkit.lint.nlp import anchor_lemmas

            cache.put_anchors(key, [anchor_lemmas(a) for a in scenario.spec.anchors])
        out[scenario.slug] = cache.anchors[key]
    return out


def _findings(
    hits: list[Hit], root: Path, enabled: set[str], severity: dict[str, Severity], file_ignores: FileIgnores
) -> list[Finding]:
    shown: dict[str, str] = {}
    out: list[Finding] = []
    for hit in hits:
        if hit.code not in enabled:
            continue
        path = shown.setdefault(hit.rel, display_path(root, hit.rel))
        if hit.code in file_ignores.ignored(hit.rel, path):
            continue
        # Built from checked rule output, so the model's validation is skipped (46k findings: 1 s).
        out.append(
            Finding.model_construct(
                code=hit.code,
                name=BY_CODE[hit.code].name,
                severity=severity[hit.code],
                path=path,
                rel=printable_name(hit.rel),
                line=hit.line,
                column=hit.column,
                end_line=hit.end_line,
                end_column=hit.end_column,
                message=hit.message,
                related=[shown.setdefault(r, display_path(root, r)) for r in hit.related],
            )
        )
    out.sort(key=lambda f: (f.path, f.line, f.column, f.code, f.message))
    return out
