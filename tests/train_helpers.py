"""A tiny random-weight causal LM with a word-level tokenizer, and corpus texts it can read.

Built offline from configs, so the training tests never need the real model.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

# Plain narrative words that name no emotion, so generated texts pass the linter.
WORDS = (
    "the a of and to in on at with from by for under over after before into through "
    "kettle window table chair door street morning evening train bus ticket letter phone screen "
    "garden river bridge market stall coat shoe bag book page pen cup plate spoon bread soup "
    "she he they we i it her his their our my "
    "walked opened closed carried placed turned looked waited counted folded read wrote poured "
    "crossed stopped lifted moved passed handed checked found left kept "
    "red blue small long narrow wooden metal cold warm wet dry old new second third "
    "slowly again once then still already only almost just later"
).split()
PUNCTUATION = [".", ","]
SPECIALS = ["[PAD]", "[UNK]", "<s>", "</s>", "user"]
CHAT_TEMPLATE = "{% for m in messages %}<s> {{ m['role'] }} {{ m['content'] }} </s>{% endfor %}"


def sentence(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(6, 12))]
    return " ".join(words).capitalize() + "."


def text(seed: int, words: int = 60) -> str:
    """One paragraph of about ``words`` words, different for every seed."""
    rng = random.Random(seed)
    out: list[str] = []
    while sum(len(s.split()) for s in out) < words:
        out.append(sentence(rng))
    return " ".join(out) + "\n"


def build_tokenizer(extra_words: tuple[str, ...] = ()):
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    vocab = {token: i for i, token in enumerate(SPECIALS + sorted(set(WORDS) | set(extra_words)) + PUNCTUATION)}
    core = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    core.normalizer = normalizers.Lowercase()
    core.pre_tokenizer = pre_tokenizers.Whitespace()
    core.post_processor = processors.TemplateProcessing(single="<s> $A", special_tokens=[("<s>", vocab["<s>"])])
    return PreTrainedTokenizerFast(
        tokenizer_object=core,
        bos_token="<s>",
        eos_token="</s>",
        pad_token="[PAD]",
        unk_token="[UNK]",
        chat_template=CHAT_TEMPLATE,
    )


def tiny_model(folder: Path, architecture: str = "llama", layers: int = 3, seed: int = 0, extra_words: tuple[str, ...] = ()) -> Path:
    """Save a random-weight model (``llama`` or ``gpt2``) with the word-level tokenizer (plus ``extra_words``) into ``folder``."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM

    tokenizer = build_tokenizer(extra_words)
    size = len(tokenizer)
    torch.manual_seed(seed)
    if architecture == "llama":
        config = LlamaConfig(
            vocab_size=size,
            hidden_size=32,
            intermediate_size=64,
            num_hidden_layers=layers,
            num_attention_heads=4,
            num_key_value_heads=2,
            max_position_embeddings=512,
            initializer_range=0.2,
            pad_token_id=0,
            bos_token_id=2,
            eos_token_id=3,
        )
        model = LlamaForCausalLM(config)
    else:
        config = GPT2Config(
            vocab_size=size, n_embd=32, n_layer=layers, n_head=4, n_positions=512, initializer_range=0.2, bos_token_id=2, eos_token_id=3
        )
        model = GPT2LMHeadModel(config)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def llama_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_model(tmp_path_factory.mktemp("tiny-llama"), "llama")


@pytest.fixture(scope="session")
def gpt2_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_model(tmp_path_factory.mktemp("tiny-gpt2"), "gpt2")


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private AMYGDALA_CACHE_DIR, so no test reads or writes the user's cache."""
    folder = tmp_path / "amygdala-cache"
    monkeypatch.setenv("AMYGDALA_CACHE_DIR", str(folder))
    return folder


CONCEPTS = ["afraid", "calm", "furious", "grateful"]


def corpus_files() -> dict[str, str]:
    """Stories for four concepts (one of them as a folder of stories) and two paired scenarios."""
    files = {f"stories/{c}.txt": text(10 + i) for i, c in enumerate(CONCEPTS)}
    files["stories/grateful/second.txt"] = text(20)
    files["paired/kitchen/baseline.txt"] = text(30)
    files["paired/kitchen/afraid.txt"] = text(31)
    files["paired/kitchen/calm.txt"] = text(32)
    files["paired/bus_stop/baseline.txt"] = text(40)
    files["paired/bus_stop/furious.txt"] = text(41)
    files["paired/bus_stop/afraid.txt"] = text(42)
    return files


def read_run(folder: Path):
    """(texts.json rows, layers, activations, readout info, vectors) of a run folder."""
    from trainer.runfolder.folder import RunFolder

    run = RunFolder.read(folder)
    info, vectors = RunFolder.read_readout(folder)
    return run.texts, run.layers, run.activations, info, vectors
