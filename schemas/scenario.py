"""``paired/<scenario>/scenario.json``: what every telling of the scenario must keep."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Anchor = Annotated[str, StringConstraints(min_length=1, strip_whitespace=True)]


class ScenarioSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    anchors: list[Anchor] = Field(
        default_factory=list,
        description="Names and objects every variant must mention (plural and inflected forms count).",
    )
    notes: str = Field("", description="Free text: the event, and what the variants change.")
