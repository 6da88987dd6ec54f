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


class LintReport(BaseModel):
    findings: list[Finding] = Field(description="Sorted by path, line and column.")
    files_checked: int = Field(ge=0, description="Texts linted (the whole corpus, or those under the given paths).")
    counts: dict[Severity, int] = Field(description="Findings per severity.")
