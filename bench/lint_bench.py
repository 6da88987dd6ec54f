"""Speed of `amygdala lint`, measured side by side with its floor and with proselint.

    python bench/lint_bench.py                      # 1k, 10k and 100k stories
    python bench/lint_bench.py --sizes 1000,10000   # quicker

For each size it builds a synthetic corpus in a temporary folder (stories made of
sentences drawn from the bundled texts, spread over the manifest's concepts) and reports,
each measurement in a fresh process so no tokenizer cache carries over:

- bare spaCy: the files read and passed through ``spacy.blank("en")`` with the stock lookup
  lemmatizer, the floor any spaCy-based linter pays (timed after ``import spacy``);
- lint cold / warm: ``lint_corpus`` with an empty cache, then again (timed after
  ``import spacy``, so the cold time includes building the pipeline and matchers);
- CLI cold / warm: ``amygdala lint`` process start to exit;
- proselint: ``proselint check`` over the same files (at most ``--proselint-limit``).

It also times ``amygdala lint`` end to end on the bundled corpus against
``python -c "import spacy"``. Targets (issue 3): bundled corpus cold <= import spacy + 1 s,
warm < 0.4 s; cold throughput at 10k >= 2/3 of bare spaCy and >= 5x proselint; warm >= 10x
faster than cold; linear growth to 100k.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
AMYGDALA = str(Path(sys.executable).with_name("amygdala"))
PROSELINT = str(Path(sys.executable).with_name("proselint"))
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z“\"])")


# --- workers (run in a fresh process) ---------------------------------------------------------


def worker_bare(root: Path) -> dict:
    import spacy

    start = time.perf_counter()
    nlp = spacy.blank("en")
    nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
    nlp.initialize()
    files = sorted(root.rglob("*.txt"))
    texts = [f.read_text(encoding="utf-8") for f in files]
    for _ in nlp.pipe(texts, batch_size=256):
        pass
    return {"files": len(files), "seconds": time.perf_counter() - start}


def worker_lint(root: Path, manifest: Path) -> dict:
    import spacy  # noqa: F401  (the import is what `python -c "import spacy"` measures)

    from toolkit.config import LintSettings
    from toolkit.corpus import load_corpus
    from toolkit.lint import lint_corpus

    cache = root.parent / "bench_cache"
    shutil.rmtree(cache, ignore_errors=True)
    times = []
    for _ in range(2):
        start = time.perf_counter()
        corpus = load_corpus(root, manifest)
        result = lint_corpus(corpus, LintSettings(), cache_dir=cache)
        times.append(time.perf_counter() - start)
    by_code: dict[str, int] = {}
    for f in result.findings:
        by_code[f.code] = by_code.get(f.code, 0) + 1
    return {"files": result.files_checked, "cold": times[0], "warm": times[1], "findings": by_code}


# --- the driver -------------------------------------------------------------------------------


def run_worker(*args: str) -> dict:
    proc = subprocess.run([PYTHON, __file__, "--worker", *args], capture_output=True, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def wall(cmd: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start


def sentences(corpus: Path) -> list[str]:
    out = []
    for path in sorted(corpus.rglob("*.txt")):
        text = path.read_text(encoding="utf-8").strip()
        out.extend(s.strip() for s in _SENTENCE.split(text) if len(s.split()) >= 4)
    return out


def build(root: Path, n: int, pool: list[str], concepts: list[str], seed: int = 0) -> None:
    """``n`` stories of 60-110 words made of random sentences, spread over the concepts."""
    rng = random.Random(seed)
    for i in range(n):
        concept = concepts[i % len(concepts)]
        chosen, count = [], 0
        while count < 60:
            sentence = rng.choice(pool)
            if count + len(sentence.split()) > 110 and chosen:
                continue
            chosen.append(sentence)
            count += len(sentence.split())
        folder = root / "stories" / concept
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"s{i:06d}.txt").write_text(" ".join(chosen) + "\n", encoding="utf-8")


def median_wall(cmd: list[str], cwd: Path, repeat: int, before=None) -> float:
    times = []
    for _ in range(repeat):
        if before:
            before()
        times.append(wall(cmd, cwd))
    return statistics.median(times)


def _has_torch() -> bool:
    import importlib.util

    return importlib.util.find_spec("torch") is not None


def bundled_end_to_end(tmp: Path, corpus: Path, manifest: Path, repeat: int) -> None:
    work = tmp / "bundled"
    shutil.copytree(corpus, work / "corpus")
    cache = work / ".amygdala_cache"
    cmd = [AMYGDALA, "lint", "--corpus", "corpus", "--manifest", str(manifest), "--format", "concise"]
    spacy_import = median_wall([PYTHON, "-c", "import spacy"], work, repeat)
    # thinc imports torch when it is installed; the linter hides it (toolkit.lint.nlp), so its floor is lower
    spacy_alone = median_wall([PYTHON, "-c", "import sys; sys.modules['torch'] = None; import spacy"], work, repeat)
    cold = median_wall(cmd, work, repeat, before=lambda: shutil.rmtree(cache, ignore_errors=True))
    warm = median_wall(cmd, work, repeat)
    n = sum(1 for _ in (work / "corpus").rglob("*.txt"))
    print(f"bundled corpus ({n} texts), process start to exit, median of {repeat}:")
    print(f"  python -c 'import spacy'   {spacy_import:6.2f} s   (torch installed: {'yes' if _has_torch() else 'no'}; spaCy's thinc imports it)")
    print(f"  the same, torch hidden     {spacy_alone:6.2f} s   (what the linter's import of spaCy costs)")
    print(f"  amygdala lint, cold        {cold:6.2f} s   = import spacy + {cold - spacy_import:+.2f} s   (target <= +1.00 s); "
          f"= spaCy without torch + {cold - spacy_alone:+.2f} s")
    print(f"  amygdala lint, warm        {warm:6.2f} s   (target < 0.40 s)")
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000,100000", help="Comma-separated corpus sizes (stories).")
    parser.add_argument("--proselint-limit", type=int, default=10000, help="Lint at most this many files with proselint.")
    parser.add_argument("--corpus", type=Path, default=REPO / "amygdala_stories")
    parser.add_argument("--manifest", type=Path, default=REPO / "manifest.json")
    parser.add_argument("--repeat", type=int, default=3, help="Repetitions of the bundled end-to-end timings.")
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker:
        kind, *rest = args.worker
        out = worker_bare(Path(rest[0])) if kind == "bare" else worker_lint(Path(rest[0]), Path(rest[1]))
        print(json.dumps(out))
        return

    manifest = args.manifest.resolve()
    concepts = sorted(json.loads(manifest.read_text())["concepts"])
    pool = sentences(args.corpus)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    with tempfile.TemporaryDirectory(prefix="lint_bench_") as tmp_name:
        tmp = Path(tmp_name)
        bundled_end_to_end(tmp, args.corpus, manifest, args.repeat)
        print(f"synthetic corpora from {len(pool)} bundled sentences; stories/s (higher is better)")
        header = f"{'stories':>8} {'bare spaCy':>11} {'lint cold':>10} {'lint warm':>10} {'proselint':>10} {'cold/bare':>10} {'cold/prose':>11} {'warm/cold':>10} {'CLI cold s':>11} {'CLI warm s':>11}"
        print(header)
        per_story = []
        for n in sizes:
            root = tmp / f"synth_{n}" / "corpus"
            build(root, n, pool, concepts)
            bare = run_worker("bare", str(root))
            lint = run_worker("lint", str(root), str(manifest))
            files = sorted(str(p) for p in root.rglob("*.txt"))[: args.proselint_limit]
            prose_seconds = wall([PROSELINT, "check", *files], root.parent)
            cache = root.parent / ".amygdala_cache"
            shutil.rmtree(cache, ignore_errors=True)
            cmd = [AMYGDALA, "lint", "--corpus", "corpus", "--manifest", str(manifest), "--format", "json", "-o", "out.json"]
            cli_cold = wall(cmd, root.parent)
            cli_warm = wall(cmd, root.parent)
            rate = {
                "bare": bare["files"] / bare["seconds"],
                "cold": lint["files"] / lint["cold"],
                "warm": lint["files"] / lint["warm"],
                "prose": len(files) / prose_seconds,
            }
            per_story.append((n, lint["cold"] / n))
            print(
                f"{n:>8} {rate['bare']:>11.0f} {rate['cold']:>10.0f} {rate['warm']:>10.0f} {rate['prose']:>10.0f}"
                f" {rate['cold'] / rate['bare']:>10.2f} {rate['cold'] / rate['prose']:>11.1f} {lint['cold'] / lint['warm']:>10.1f}"
                f" {cli_cold:>11.2f} {cli_warm:>11.2f}",
                flush=True,
            )
            print(f"{'':>8} findings: {json.dumps(lint['findings'], sort_keys=True)}", flush=True)
        print()
        print("targets: cold/bare >= 0.67 at 10k; cold/prose >= 5; warm/cold >= 10; linear growth:")
        base_n, base = per_story[0]
        for n, seconds in per_story:
            print(f"  {n:>8} stories: {seconds * 1e3:.3f} ms per story cold ({seconds / base:.2f}x the {base_n}-story cost)")


if __name__ == "__main__":
    main()
