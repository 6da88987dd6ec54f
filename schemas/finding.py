"""A lint finding and the JSON report `amygdala lint --format json` prints."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

Severity = Literal["error", "warning", "info"]


class Finding(BaseModel):
    code: str = Field(description="Stable rule code, e.g. KW001.", pattern=r"^[A-Z]{2}\d{3}$")
    name: str = Field(description="The rule's kebab-case name.")
    severity: Severity
    path: str = Field(description="File (or folder) the finding is about, relative to the working directory.")
    rel: str | None = Field(
        None,
        description="The same file relative to the corpus root, as texts.json names it (what triage joins on); null in reports of amygdala 0.1.0.",
    )
    line: int = Field(ge=1, description="1-based line of the start of the finding.")
    column: int = Field(ge=1, description="1-based column (in characters) of the start of the finding.")
    end_line: int | None = Field(None, ge=1, description="1-based line of the end of the finding; null for a whole file or folder.")
    end_column: int | None = Field(
        None, ge=1, description="1-based column just after the last character of the finding (exclusive), as in SARIF."
    )
    message: str
    related: list[str] = Field(default_factory=list, description="Other files the finding involves.")


class NextInCluster(BaseModel):
    """One cluster of the "what to write next" summary."""

    cluster: str = Field(description="The cluster's slug in the manifest.")
    title: str
    concepts: int = Field(ge=0, description="Concepts of the cluster in the manifest.")
    with_text: int = Field(ge=0, description="Concepts with at least one non-empty text (story or paired variant).")
    missing: list[str] = Field(description="Concepts without a text, in manifest order: write these first.")
    thinnest: list[str] = Field(description="When none is missing: the concepts with the fewest texts.")
    fewest: int = Field(ge=0, description="The number of texts the thinnest concepts have (0 while any is missing).")


class WriteNext(BaseModel):
    """What to write next: per cluster, the concepts without a text, else the thinnest."""

    concepts: int = Field(ge=0)
    with_text: int = Field(ge=0)
    clusters: list[NextInCluster] = Field(description="Clusters with missing concepts first (most missing first), then by fewest texts.")


class LintReport(BaseModel):
    findings: list[Finding] = Field(description="Sorted by path, line and column.")
    files_checked: int = Field(ge=0, description="Texts linted (the whole corpus, or those under the given paths).")
    counts: dict[Severity, int] = Field(description="Findings per severity.")
    write_next: WriteNext | None = Field(
        None, description="What to write next (the summary CV001 reports in one finding); null unless the whole corpus was linted."
    )
