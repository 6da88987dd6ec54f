"""``amygdala steer``: generate with a concept's vector added, or check every concept against random directions."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from toolkit.cli._app import command, console
from toolkit.cli.readout_cmd import RunArg
from toolkit.cli.steer_check import DEFAULT_CHECK_STRENGTHS, run_check
from base.errors import AmygdalaError

DEFAULT_PROMPT = "Tell me about your morning."


@command("steer")
def steer_command(
    run: RunArg,
    concept: Annotated[Optional[str], typer.Option("--concept", help="The concept whose vector is added.", show_default=False)] = None,
    layer: Annotated[Optional[int], typer.Option("--layer", help="Add after block LAYER-1 (= hidden_states[LAYER]); default: steering.json's recommendation, else 60% of the depth.", show_default=False)] = None,
    strength: Annotated[Optional[float], typer.Option("--strength", help="Multiple of the layer's mean residual norm; default: steering.json's recommendation, else 0.5.", show_default=False)] = None,
    prompt: Annotated[str, typer.Option("--prompt", help="Prompt to continue (as a user turn when the tokenizer has a chat template).")] = DEFAULT_PROMPT,
    raw: Annotated[bool, typer.Option("--raw", help="Feed the prompt as plain text, without the chat template.")] = False,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the sampled continuations and of the check's random directions.")] = 0,
    max_new_tokens: Annotated[int, typer.Option("--max-new-tokens", min=1)] = 40,
    check: Annotated[bool, typer.Option("--check", help="Check every concept: keyword log-probability against random directions; writes steering.json.")] = False,
    check_layers: Annotated[Optional[str], typer.Option("--check-layers", help="Layers of the check (default: 30%, 45%, 60%, 75% of the depth).", show_default=False)] = None,
    strengths: Annotated[str, typer.Option("--strengths", help="Strengths of the check.")] = DEFAULT_CHECK_STRENGTHS,
    n_random: Annotated[int, typer.Option("--random", min=16, help="Random directions of equal norm in the null.")] = 16,
) -> None:
    """Generate with and without a concept's vector added to the residual stream, side by side (greedy and seeded sampling), or --check every concept."""
    from rich.table import Table

    from toolkit.cli.train_cmd import RichReporter
    from trainer.use.readout import open_run, read_steering
    from trainer.use.steering import DEFAULT_DEPTH, DEFAULT_STRENGTH, generate_pair, layer_at, load_run_model

    view = open_run(run)
    reporter = RichReporter()
    if check:
        run_check(view, check_layers, strengths, n_random, seed, reporter)
        return
    if concept is None:
        raise AmygdalaError("--concept is required (or --check)")
    measured = read_steering(view)
    if layer is None:
        layer = measured.recommended.layer if measured else layer_at(DEFAULT_DEPTH, view.info.model.n_layers, view.layers)
    if strength is None:
        strength = measured.recommended.strength if measured else DEFAULT_STRENGTH
    lm = load_run_model(view, reporter)
    result = generate_pair(view, lm, concept, layer, strength, prompt, seed, max_new_tokens, chat=not raw)
    table = Table(
        title=f"{concept} at layer {layer}, strength {strength:g} (vector length {result.scale:g}); prompt: {prompt!r}",
        title_justify="left",
        show_lines=True,
    )
    table.add_column("")
    table.add_column("unsteered", ratio=1)
    table.add_column(f"+ {concept}", ratio=1)
    table.add_row("greedy", *result.greedy)
    table.add_row(f"sampled (seed {seed})", *result.sampled)
    console.print(table)
