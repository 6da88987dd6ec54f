"""How fast `amygdala lsp` answers an edit: didChange sent -> publishDiagnostics received.

Lints a copy of the bundled corpus once (`amygdala lint`, so the lint cache on disk is warm,
as it is for a writer who has linted before), starts the real server over stdio with pygls'
client, opens one ~100-word story (served from the cache), then sends edits, each a
different word so nothing is served from the cache, and times each answer. The first edit
after opening is timed on its own: it is the keystroke that used to wait for spaCy (issue 20).
The target is 150 ms for every edit, the first included. Prints start-up, the open, the
first edit and the median, p90 and max of the rest side by side with the target.

    python bench/lsp_bench.py [--edits 40]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from lsprotocol import types
from pygls.lsp.client import LanguageClient
from pygls.uris import from_fs_path

REPO = Path(__file__).resolve().parents[1]
TARGET_MS = 150.0
SERVER = "from toolkit.cli import main; main()"  # `amygdala lsp` from this checkout
WORDS = ["kettle", "ledger", "gatepost", "tram", "pebble", "awning", "radiator", "satchel", "spire", "orchard"]


async def run(edits: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp)
        shutil.copytree(REPO / "amygdala_stories", project / "amygdala_stories")
        shutil.copy(REPO / "manifest.json", project / "manifest.json")
        story = next(p for p in sorted((project / "amygdala_stories" / "stories").rglob("*.txt")) if 90 <= len(p.read_text().split()) <= 110)
        body = story.read_text(encoding="utf-8")

        client = LanguageClient("lsp-bench", "1")
        arrived: asyncio.Queue[tuple[float, types.PublishDiagnosticsParams]] = asyncio.Queue()

        @client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def _diagnostics(params: types.PublishDiagnosticsParams) -> None:
            arrived.put_nowait((time.perf_counter(), params))

        env = {**os.environ, "PYTHONPATH": str(REPO)}
        subprocess.run([sys.executable, "-c", SERVER, "lint"], cwd=project, env=env, capture_output=True, check=False)
        started = time.perf_counter()
        await client.start_io(sys.executable, "-c", SERVER, "lsp", cwd=str(project), env=env)
        await client.initialize_async(types.InitializeParams(capabilities=types.ClientCapabilities(), root_uri=from_fs_path(str(project))))
        client.initialized(types.InitializedParams())
        startup = time.perf_counter() - started

        uri = from_fs_path(str(story))
        sent = time.perf_counter()
        client.text_document_did_open(
            types.DidOpenTextDocumentParams(types.TextDocumentItem(uri=uri, language_id="plaintext", version=1, text=body))
        )
        received, params = await arrived.get()
        first = received - sent

        latencies = []
        for version in range(2, edits + 2):
            word = WORDS[version % len(WORDS)]
            text = f"{body.rstrip()} The {word} {version}."
            sent = time.perf_counter()
            client.text_document_did_change(
                types.DidChangeTextDocumentParams(
                    text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
                    content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
                )
            )
            while True:
                received, params = await arrived.get()
                if params.version == version:
                    break
            latencies.append((received - sent) * 1000)

        await client.shutdown_async(None)
        client.exit(None)
        await client.stop()

    first_edit, latencies = latencies[0], sorted(latencies[1:])
    p90 = latencies[int(0.9 * (len(latencies) - 1))]
    print(f"story: {story.relative_to(project)} ({len(body.split())} words), {edits} edits, lint cache warm")
    print(f"server start-up + initialize: {startup * 1000:7.0f} ms")
    print(f"didOpen -> diagnostics:       {first * 1000:7.0f} ms")
    print(f"first edit -> diagnostics:    {first_edit:7.0f} ms  (target {TARGET_MS:.0f} ms; ratio {first_edit / TARGET_MS:.2f})")
    print(f"{'later edits':<28}{'median':>8}{'p90':>8}{'max':>8}{'target':>8}")
    print(f"{'didChange -> diagnostics':<28}{statistics.median(latencies):8.1f}{p90:8.1f}{latencies[-1]:8.1f}{TARGET_MS:8.0f}  ms")
    print(f"median / target: {statistics.median(latencies) / TARGET_MS:.2f}; p90 / target: {p90 / TARGET_MS:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--edits", type=int, default=40)
    asyncio.run(run(parser.parse_args().edits))


if __name__ == "__main__":
    main()
