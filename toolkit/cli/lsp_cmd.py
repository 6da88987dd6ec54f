"""``amygdala lsp``: the Language Server for editors (see docs/editors.md)."""

from __future__ import annotations

from toolkit.cli._app import command


@command("lsp")
def lsp_command() -> None:
    """Run the Language Server over stdin/stdout: lint each corpus text as it is typed, with
    the rule's explanation on hover and quick fixes for renames and anchors. Started by the
    editor, not by hand; docs/editors.md has the set-up for VS Code, Neovim and Helix."""
    from toolkit.lsp import serve

    serve()
