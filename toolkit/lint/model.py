"""What a rule is, what it reports, and what it is given to look at."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Generic, Iterable, Literal, TypedDict, TypeGuard, TypeVar

from schemas.finding import Severity
from toolkit.config import LintSettings
from toolkit.corpus import Corpus, Scenario, Text
from toolkit.lint.lexicon import Lexicon
from toolkit.lint.textutil import Locator

if TYPE_CHECKING:
    from toolkit.lint.nlp import Analysis


@dataclass(frozen=True)
class Hit:
    """A rule's raw report: ``rel`` is relative to the corpus root ("" is the root itself)."""

    code: str
    rel: str
    message: str
    line: int = 1
    column: int = 1
    end_line: int | None = None
    end_column: int | None = None
    related: tuple[str, ...] = ()

    def to_row(self) -> "HitRow":
        """The hit as the lint cache stores it (its file is the cache entry's)."""
        return HitRow(
            code=self.code,
            line=self.line,
            column=self.column,
            end_line=self.end_line,
            end_column=self.end_column,
            message=self.message,
            related=list(self.related),
        )

    @classmethod
    def from_row(cls, rel: str, row: "HitRow") -> "Hit":
        return cls(
            row["code"], rel, row["message"], row["line"], row["column"], row["end_line"], row["end_column"], tuple(row["related"])
        )


class HitRow(TypedDict):
    """A cached hit: ``Hit`` without its file, as JSON."""

    code: str
    line: int
    column: int
    end_line: int | None
    end_column: int | None
    message: str
    related: list[str]


@dataclass
class FileContext:
    """One decoded text, as a per-file rule sees it."""

    text: Text
    body: str
    settings: LintSettings
    lexicon: Lexicon
    analysis: "Analysis | None"
    locator: Locator = field(init=False)

    def __post_init__(self) -> None:
        self.locator = Locator(self.body)

    def span_hit(self, code: str, start: int, end: int, message: str) -> Hit:
        """A hit on the characters ``body[start:end]``; the end column is exclusive."""
        line, column = self.locator.at(start)
        end_line, end_column = self.locator.at(end)
        return Hit(code, self.text.rel, message, line, column, end_line, end_column)

    def file_hit(self, code: str, message: str) -> Hit:
        return Hit(code, self.text.rel, message)


class Memo(TypedDict):
    """A whole-corpus result of a rule, valid while the corpus key is unchanged."""

    key: str
    value: Any


@dataclass
class CorpusContext:
    """The whole corpus with the per-text facts the cross-file rules read.

    ``words``/``bands`` exist for every decodable text; ``lemmas`` for the paired texts of
    scenarios in scope; ``leaned`` for their baselines; ``anchors`` per scenario slug;
    ``corpus_key`` changes with any text, and ``memos`` keep whole-corpus results under it.
    """

    corpus: Corpus
    settings: LintSettings
    lexicon: Lexicon
    in_scope: Callable[[str], bool]
    root_in_scope: bool
    words: dict[str, int]
    bands: dict[str, str]
    lemmas: dict[str, list[str]]
    leaned: dict[str, list[tuple[str, str]]]
    anchors: dict[str, list[list[str]]]
    corpus_key: str
    memos: dict[str, Memo]

    def remember(self, name: str, compute: Callable[[], Any]) -> Any:
        """``compute()``, remembered across runs while no text of the corpus changes."""
        memo = self.memos.get(name)
        if memo is None or memo["key"] != self.corpus_key:
            memo = self.memos[name] = Memo(key=self.corpus_key, value=compute())
        return memo["value"]

    def scenario_in_scope(self, scenario: Scenario) -> bool:
        return any(self.in_scope(t.rel) for t in scenario_texts(scenario))


def scenario_texts(scenario: Scenario) -> list[Text]:
    return ([scenario.baseline] if scenario.baseline else []) + scenario.variants


Scope = Literal["file", "corpus"]
# A rule's context: per-file rules see one text, corpus rules the whole corpus.
ContextT = TypeVar("ContextT", FileContext, CorpusContext)


@dataclass(frozen=True)
class Rule(Generic[ContextT]):
    """A lint rule: stable code, kebab-case name, default severity, explanation, check.

    ``scope`` says which context ``check`` takes: "file" a ``FileContext``, "corpus" a
    ``CorpusContext`` (tests/test_lint_rules.py checks each rule's annotation against it)."""

    code: str
    name: str
    severity: Severity
    summary: str
    explanation: str
    scope: Scope
    check: Callable[[ContextT], Iterable[Hit]]


FileRule = Rule[FileContext]
CorpusRule = Rule[CorpusContext]


def is_file_rule(rule: FileRule | CorpusRule) -> TypeGuard[FileRule]:
    return rule.scope == "file"


def is_corpus_rule(rule: FileRule | CorpusRule) -> TypeGuard[CorpusRule]:
    return rule.scope == "corpus"
