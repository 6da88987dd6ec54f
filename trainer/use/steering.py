"""Steering: add a concept's vector to the residual stream, generate, and measure whether it steers.

The vector goes onto the output of decoder block L-1 (= Hugging Face ``hidden_states[L]``, amygdala
layer L, the state the readout reads), at every position, scaled to ``strength`` x that layer's mean
residual norm (run.json ``extraction.mean_norm``). llama.cpp's ``direction.(L-1)`` is the same
intervention (see trainer/runfolder/folder.py).

The check (``steering_check``): for neutral prompts ending in a slot ("This morning I felt"), the
change in next-token log-probability of the concept's own keyword family (its single-token forms)
minus the mean change for the other clusters' families, at layers x strengths, as a z-score against
the same score under random directions of equal norm. Pure math: ``family_scores``,
``random_zscores``, ``recommend``. Model code: ``SteeringRunner`` runs the unsteered prefix (the
blocks before the hook) once per prompt and only the blocks after the hook per batch of directions.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterator, Sequence

import numpy as np

from schemas.evaluation import ClusterSteering, ConceptSteering, Recommendation, SteeringCell, SteeringReport
from base.errors import AmygdalaError

if TYPE_CHECKING:
    import torch

    from trainer.extraction.model import LoadedModel
    from trainer.runfolder.folder import Run
    from trainer.reporter import Reporter

SLOT_PROMPTS = (
    "This morning I felt",
    "When the letter arrived, I felt",
    "Sitting on the bus, she felt",
    "At the end of the meeting, he felt",
    "Right now, I feel",
    "Walking home, they felt",
    "After the phone call, I was feeling",
    "Looking out of the window, I felt",
)
CHECK_STRENGTHS = (0.25, 0.5, 1.0)
CHECK_DEPTHS = (0.3, 0.45, 0.6, 0.75)  # share of the model's depth; 30 blocks -> layers 9, 14, 18, 22
DEFAULT_DEPTH = 0.6  # steer's layer before a check has measured one: inside the 12-24 of 30 issue 12 found
DEFAULT_STRENGTH = 0.5  # likewise: 0.5 x the mean norm steered there; above ~1 random directions alone wreck the text
Z_THRESHOLD = 2.0
N_RANDOM = 16

# Where architectures keep the norm applied after the last block, tried in order.
FINAL_NORM_PATHS = (
    "model.norm",
    "model.language_model.norm",
    "model.decoder.final_layer_norm",
    "transformer.ln_f",
    "gpt_neox.final_layer_norm",
    "transformer.norm_f",
    "backbone.norm_f",
)


def layer_at(share: float, n_layers: int, run_layers: Sequence[int]) -> int:
    """The run's layer nearest to ``share`` of the model's depth."""
    wanted = max(1, round(share * n_layers))
    return min(run_layers, key=lambda layer: (abs(layer - wanted), layer))


def check_layers(n_layers: int, run_layers: Sequence[int]) -> list[int]:
    """Default layers of the check: fixed shares of the depth (``CHECK_DEPTHS``), snapped to the run's layers."""
    return sorted({layer_at(share, n_layers, run_layers) for share in CHECK_DEPTHS})


# --------------------------------------------------------------------------- pure math


def family_scores(base: np.ndarray, steered: np.ndarray, own: np.ndarray, cluster_of: np.ndarray, n_clusters: int) -> np.ndarray:
    """Steering scores [n_directions, n_concepts] in nats.

    ``base`` [prompts, F] and ``steered`` [n_directions, prompts, F] are log-probabilities of F
    families: the concepts' own families first (``own`` columns, one per concept), then one per
    cluster (the last ``n_clusters`` columns). A concept's score under a direction is the mean
    change of its own family minus the mean over the *other* clusters of their families' mean change.
    """
    with np.errstate(invalid="ignore"):
        change = (steered - base[None]).mean(1)  # [D, F]; NaN for an empty family (-inf - -inf)
    own_change = change[:, own]  # [D, n_concepts]
    cluster_change = change[:, -n_clusters:]  # [D, n_clusters]
    present = np.isfinite(cluster_change)
    total = np.where(present, cluster_change, 0.0).sum(1, keepdims=True)
    mine, mine_present = cluster_change[:, cluster_of], present[:, cluster_of]
    count = present.sum(1, keepdims=True) - mine_present
    others = (total - np.where(mine_present, mine, 0.0)) / np.maximum(count, 1)
    return own_change - others


def random_zscores(concept_scores: np.ndarray, null_scores: np.ndarray) -> np.ndarray:
    """z of each concept's score under its own vector [n_concepts] against its scores under random
    directions [n_random, n_concepts] (mean and sd, ddof=1, over the random directions)."""
    sd = null_scores.std(0, ddof=1)
    return (concept_scores - null_scores.mean(0)) / np.maximum(sd, 1e-9)


def recommend(median_z: np.ndarray, layers: Sequence[int], strengths: Sequence[float]) -> Recommendation:
    """The cell with the highest median z (ties: the weaker strength, the earlier layer), and the layers
    whose median z at that strength is at least half of it."""
    best = max(((median_z[i, j], -j, -i) for i in range(len(layers)) for j in range(len(strengths))))
    i, j = -best[2], -best[1]
    top = median_z[i, j]
    near = [layers[k] for k in range(len(layers)) if top > 0 and median_z[k, j] >= top / 2]
    return Recommendation(layers=near or [layers[i]], layer=layers[i], strength=float(strengths[j]), median_z=round(float(top), 3))


# --------------------------------------------------------------------------- model code


def final_norm(model: Any) -> Any:
    for dotted in FINAL_NORM_PATHS:
        found = model
        for attr in dotted.split("."):
            found = getattr(found, attr, None)
        if found is not None:
            return found
    raise AmygdalaError(f"cannot find the final norm of {type(model).__name__} (looked at {', '.join(FINAL_NORM_PATHS)})")


def _hidden(output: Any) -> "torch.Tensor":
    return output[0] if isinstance(output, tuple) else output


def _with_hidden(output: Any, hidden: "torch.Tensor") -> Any:
    return (hidden, *output[1:]) if isinstance(output, tuple) else hidden


@contextmanager
def steering_hook(lm: "LoadedModel", layer: int, vector: "torch.Tensor") -> Iterator[None]:
    """Add ``vector`` [hidden] to the output of block ``layer - 1`` (amygdala layer ``layer``) at every position."""

    def hook(module, args, output):
        hidden = _hidden(output)
        return _with_hidden(output, hidden + vector.to(hidden.dtype).to(hidden.device))

    handle = lm.blocks[layer - 1].register_forward_hook(hook)
    try:
        yield
    finally:
        handle.remove()


@dataclass
class _Prefix:
    """One prompt's unsteered pass: each block's call (args, kwargs), the last block's output, and
    the next token's log-probabilities."""

    calls: list[tuple[tuple, dict]]
    last: "torch.Tensor"
    base: "torch.Tensor"  # [vocab] float32


class SteeringRunner:
    """Next-token log-probabilities of prompts under many directions at once: the blocks before the
    hook run once per prompt (unsteered), the blocks after it once per batch of directions."""

    def __init__(self, lm: "LoadedModel", prompts: Sequence[str], batch_size: int = 64):
        import torch

        self.lm, self.batch_size = lm, batch_size
        self.norm = final_norm(lm.model)
        self.head = lm.model.get_output_embeddings()
        with torch.inference_mode():
            self.prefixes = [self._prefix(lm.tokenizer(p, return_tensors="pt")["input_ids"].to(lm.input_device)) for p in prompts]

    def _prefix(self, ids: "torch.Tensor") -> _Prefix:
        import torch

        calls: list[tuple[tuple, dict]] = []
        last: list[torch.Tensor] = []
        handles = [block.register_forward_pre_hook(lambda m, a, k: calls.append((a, k)), with_kwargs=True) for block in self.lm.blocks]
        handles.append(self.lm.blocks[-1].register_forward_hook(lambda m, a, out: last.append(_hidden(out))))
        try:
            logits = self.lm.model(input_ids=ids, use_cache=False).logits[0, -1].float()
        finally:
            for handle in handles:
                handle.remove()
        return _Prefix(calls=calls, last=last[0], base=torch.log_softmax(logits, -1))

    def _state(self, prefix: _Prefix, layer: int) -> "torch.Tensor":
        """The unsteered output of block layer-1 (amygdala layer ``layer``)."""
        if layer == len(self.lm.blocks):
            return prefix.last
        args, kwargs = prefix.calls[layer]
        return args[0] if args else kwargs["hidden_states"]

    def _run_from(self, prefix: _Prefix, layer: int, hidden: "torch.Tensor") -> "torch.Tensor":
        import torch

        for index in range(layer, len(self.lm.blocks)):
            args, kwargs = prefix.calls[index]
            block = self.lm.blocks[index]
            out = block(hidden, *args[1:], **kwargs) if args else block(**{**kwargs, "hidden_states": hidden})
            hidden = _hidden(out)
        return torch.log_softmax(self.head(self.norm(hidden[:, -1])).float(), -1)

    def base(self, gather: "torch.Tensor") -> "torch.Tensor":
        """[prompts, gather.shape...] unsteered log-probabilities of the token ids ``gather`` (-1: -inf)."""
        import torch

        return torch.stack([_pick(prefix.base[None], gather)[0] for prefix in self.prefixes])

    def steered(self, layer: int, directions: "torch.Tensor", gather: "torch.Tensor") -> "torch.Tensor":
        """[n_directions, prompts, gather.shape...]: log-probabilities of the token ids ``gather`` with
        each direction [n_directions, hidden] added to the output of block layer-1, at every position."""
        import torch

        out = []
        with torch.inference_mode():
            for prefix in self.prefixes:
                start = self._state(prefix, layer)
                rows = [
                    _pick(self._run_from(prefix, layer, start + chunk.to(start.dtype)[:, None, :]), gather)
                    for chunk in directions.split(self.batch_size)
                ]
                out.append(torch.cat(rows))
        return torch.stack(out, 1)


def _pick(logprobs: "torch.Tensor", gather: "torch.Tensor") -> "torch.Tensor":
    """[n, vocab] log-probabilities at the ids ``gather`` (any shape, -1 = none -> -inf): [n, *gather.shape]."""
    picked = logprobs[:, gather.clamp(min=0).reshape(-1).to(logprobs.device)].reshape(len(logprobs), *gather.shape)
    return picked.masked_fill(gather.to(picked.device) < 0, float("-inf"))


# --------------------------------------------------------------------------- families and the check


def single_token_ids(tokenizer: Any, words: Sequence[str]) -> list[tuple[str, int]]:
    """The words that are one token after a space (as they would follow "I felt"), with that token."""
    out, seen = [], set()
    unknown = getattr(tokenizer, "unk_token_id", None)
    for word in words:
        ids = tokenizer(" " + word, add_special_tokens=False)["input_ids"]
        if len(ids) == 1 and ids[0] != unknown and ids[0] not in seen:
            out.append((word, ids[0]))
            seen.add(ids[0])
    return out


@dataclass
class Families:
    """Token-id families: one per concept (its own keywords), then one per cluster (tokens of one cluster only)."""

    concept_tokens: list[list[tuple[str, int]]]
    clusters: list[str]
    cluster_of: np.ndarray  # [n_concepts] index into clusters
    ids: np.ndarray  # [n_concepts + n_clusters, width] token ids, -1 padded

    @property
    def testable(self) -> np.ndarray:
        return np.array([bool(tokens) for tokens in self.concept_tokens])


def build_families(tokenizer: Any, run: "Run") -> Families:
    concept_tokens = [single_token_ids(tokenizer, run.manifest.concepts[c].keywords) for c in run.concepts]
    clusters = sorted(set(run.clusters))
    cluster_of = np.array([clusters.index(c) for c in run.clusters])
    owners: dict[int, set[int]] = {}
    for concept, tokens in enumerate(concept_tokens):
        for _, token in tokens:
            owners.setdefault(token, set()).add(int(cluster_of[concept]))
    cluster_ids = [sorted({t for t, owner in owners.items() if owner == {k}}) for k in range(len(clusters))]
    rows = [[t for _, t in tokens] for tokens in concept_tokens] + cluster_ids
    width = max(1, max(map(len, rows)))
    ids = np.full((len(rows), width), -1, dtype=np.int64)
    for i, row in enumerate(rows):
        ids[i, : len(row)] = row
    return Families(concept_tokens=concept_tokens, clusters=clusters, cluster_of=cluster_of, ids=ids)


def _logsumexp(x: np.ndarray) -> np.ndarray:
    top = np.max(x, -1, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    with np.errstate(divide="ignore"):
        return (top + np.log(np.exp(x - top).sum(-1, keepdims=True)))[..., 0]


def random_directions(n: int, hidden: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    raw = rng.standard_normal((n, hidden))
    return raw / np.linalg.norm(raw, axis=1, keepdims=True)


def steering_check(  # long: being rewritten in issue 22 (a specific steering check)
    run: "Run",
    lm: "LoadedModel",
    layers: Sequence[int],
    strengths: Sequence[float],
    n_random: int = N_RANDOM,
    seed: int = 0,
    prompts: Sequence[str] = SLOT_PROMPTS,
    reporter: "Reporter | None" = None,
) -> SteeringReport:
    import torch

    from trainer.reporter import Reporter

    reporter = reporter or Reporter()
    if n_random < 16:
        raise AmygdalaError("--random: the null needs at least 16 random directions")
    started = time.perf_counter()
    families = build_families(lm.tokenizer, run)
    testable = families.testable
    if not testable.any():
        raise AmygdalaError("no concept's keyword family has a single-token form in this tokenizer: nothing to check")
    runner = SteeringRunner(lm, prompts)
    # Families, then one row per prompt holding that prompt's unsteered greedy next token.
    greedy = np.array([int(p.base.argmax()) for p in runner.prefixes])
    extra = np.full((len(greedy), families.ids.shape[1]), -1, dtype=np.int64)
    extra[:, 0] = greedy
    gather = torch.from_numpy(np.concatenate([families.ids, extra]))
    n_families = families.ids.shape[0]
    base_all = _logsumexp(runner.base(gather).numpy())  # [P, F + P]
    base = base_all[:, :n_families]
    n_concepts, n_c = len(run.concepts), len(families.clusters)
    randoms = random_directions(n_random, run.vectors.shape[-1], seed)
    score = np.full((len(layers), len(strengths), n_concepts), np.nan)
    zs = np.full_like(score, np.nan)
    cells = []
    own = np.arange(n_concepts)
    with reporter.progress("steering check", len(layers) * len(strengths)) as advance:
        for i, layer in enumerate(layers):
            unit = np.concatenate([run.vectors[run.layers.index(layer)], randoms])  # [C + R, hidden]
            norm = run.info.extraction.mean_norm[str(layer)]
            for j, strength in enumerate(strengths):
                directions = torch.from_numpy((unit * (strength * norm)).astype(np.float32)).to(lm.input_device)
                steered = _logsumexp(runner.steered(layer, directions, gather).numpy())  # [C + R, P, F + P]
                scores = family_scores(base, steered[:, :, :n_families], own, families.cluster_of, n_c)  # [C + R, n_concepts]
                mine = scores[own, own]
                null = scores[n_concepts:]
                score[i, j] = mine
                zs[i, j] = random_zscores(mine, null)
                prompts_idx = np.arange(len(greedy))
                drop = float(np.mean(base_all[prompts_idx, n_families + prompts_idx] - steered[n_concepts:, prompts_idx, n_families + prompts_idx]))
                z_ok = zs[i, j][testable]
                cells.append(
                    SteeringCell(
                        layer=layer,
                        strength=float(strength),
                        median_z=round(float(np.median(z_ok)), 3),
                        share_steering=round(float((z_ok >= Z_THRESHOLD).mean()), 4),
                        random_logprob_drop=round(float(drop), 4),
                    )
                )
                advance(1)
    median = np.array([[c.median_z for c in cells[i * len(strengths) : (i + 1) * len(strengths)]] for i in range(len(layers))])
    rec = recommend(median, layers, strengths)
    ri, rj = list(layers).index(rec.layer), list(strengths).index(rec.strength)
    concepts = [
        ConceptSteering(
            concept=c,
            cluster=families.clusters[families.cluster_of[k]],
            tokens=[word for word, _ in families.concept_tokens[k]],
            score=np.round(np.nan_to_num(score[:, :, k]), 4).tolist() if testable[k] else [],
            z=np.round(np.nan_to_num(zs[:, :, k]), 3).tolist() if testable[k] else [],
            steers=bool(testable[k] and zs[ri, rj, k] >= Z_THRESHOLD),
        )
        for k, c in enumerate(run.concepts)
    ]
    clusters = []
    for k, name in enumerate(families.clusters):
        members = (families.cluster_of == k) & testable
        if members.any():
            cz = zs[ri, rj][members]
            clusters.append(ClusterSteering(cluster=name, n=int(members.sum()), median_z=round(float(np.median(cz)), 3), share_steering=round(float((cz >= Z_THRESHOLD).mean()), 4)))
    return SteeringReport(
        run=str(run.root),
        prompts=list(prompts),
        layers=list(layers),
        strengths=[float(s) for s in strengths],
        n_random=n_random,
        seed=seed,
        z_threshold=Z_THRESHOLD,
        cells=cells,
        concepts=concepts,
        clusters=clusters,
        recommended=rec,
        not_steering=[c.concept for c, ok in zip(concepts, testable) if ok and not c.steers],
        untestable=[c for c, ok in zip(run.concepts, testable) if not ok],
        seconds=round(time.perf_counter() - started, 2),
    )


# --------------------------------------------------------------------------- generation


@dataclass
class Continuations:
    prompt: str
    concept: str
    layer: int
    strength: float
    scale: float  # strength x the layer's mean residual norm: the added vector's length
    seed: int
    greedy: tuple[str, str]  # (unsteered, steered)
    sampled: tuple[str, str]


def prompt_input(lm: "LoadedModel", prompt: str, chat: bool) -> "torch.Tensor":
    """Token ids of the prompt: as a user turn of the chat template (when asked and present), else raw."""
    tokenizer = lm.tokenizer
    if chat and isinstance(getattr(tokenizer, "chat_template", None), str):
        text = tokenizer.apply_chat_template([{"role": "user", "content": prompt}], tokenize=False, add_generation_prompt=True)
        ids = tokenizer(text, add_special_tokens=False, return_tensors="pt")["input_ids"]
    else:
        ids = tokenizer(prompt, return_tensors="pt")["input_ids"]
    return ids.to(lm.input_device)


def generate_pair(
    run: "Run",
    lm: "LoadedModel",
    concept: str,
    layer: int,
    strength: float,
    prompt: str,
    seed: int = 0,
    max_new_tokens: int = 40,
    chat: bool = True,
    temperature: float = 0.8,
) -> Continuations:
    """Greedy and seeded-sampling continuations of ``prompt`` without and with the concept's vector."""
    import torch

    if concept not in run.concepts:
        raise AmygdalaError(f"--concept: {concept!r} has no vector in this run", run.root)
    if layer not in run.layers:
        raise AmygdalaError(f"--layer: layer {layer} was not extracted by this run ({run.layers[0]}..{run.layers[-1]})", run.root)
    scale = strength * run.info.extraction.mean_norm[str(layer)]
    vector = torch.from_numpy(run.vectors[run.layers.index(layer), run.concepts.index(concept)] * scale)
    ids = prompt_input(lm, prompt, chat)
    pad = lm.tokenizer.pad_token_id if lm.tokenizer.pad_token_id is not None else lm.tokenizer.eos_token_id

    def generate(sample: bool) -> str:
        if sample:
            torch.manual_seed(seed)
        options = dict(do_sample=True, temperature=temperature, top_k=0, top_p=1.0) if sample else dict(do_sample=False)
        with torch.inference_mode():
            out = lm.model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=max_new_tokens, pad_token_id=pad, **options)
        return lm.tokenizer.decode(out[0, ids.shape[1] :], skip_special_tokens=True).strip()

    plain_greedy, plain_sampled = generate(False), generate(True)
    with steering_hook(lm, layer, vector):
        steered_greedy, steered_sampled = generate(False), generate(True)
    return Continuations(
        prompt=prompt,
        concept=concept,
        layer=layer,
        strength=strength,
        scale=round(float(scale), 4),
        seed=seed,
        greedy=(plain_greedy, steered_greedy),
        sampled=(plain_sampled, steered_sampled),
    )


def load_run_model(run: "Run", reporter: "Reporter") -> "LoadedModel":
    """The run's own model, in the run's dtype, on the run's device choice."""
    from trainer.extraction.model import load_model, placement, resolve_model

    config = run.info.config
    source = resolve_model(config.model, config.revision, reporter.step)
    _, device = placement(run.info.model.dtype, config.device, config.device_map)
    reporter.step(f"loading {source.name} ({run.info.model.dtype} on {device})")
    return load_model(source, run.info.model.dtype, device, config.device_map)
