"""Content-addressed cache of pooled activations, one small safetensors file per text.

An entry's address is the hash of the extraction settings (model identity and revision, dtype,
pooling, chat template) and of the exact string fed to the model, so an edited text simply
misses and an unchanged one hits whatever else changed in the corpus. Entries are written
atomically as soon as their batch is done, so a run killed midway keeps what it extracted; each
carries a checksum of its values, so a corrupt or truncated file is detected and recomputed.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from base.jsonio import atomic_write_bytes, atomic_write_text, current_umask

# Bump when the meaning of a cached vector changes (pooling arithmetic, layer convention).
CACHE_FORMAT = 1


def cache_root() -> Path:
    """``$AMYGDALA_CACHE_DIR``, else ``$XDG_CACHE_HOME/amygdala``, else ``~/.cache/amygdala``."""
    explicit = os.environ.get("AMYGDALA_CACHE_DIR")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "amygdala"


def publish_modes(folder: Path) -> None:
    """Give a folder built in a private temporary place the permissions the umask allows."""
    mask = current_umask()
    folder.chmod(0o777 & ~mask)
    for path in folder.rglob("*"):
        path.chmod((0o777 if path.is_dir() else 0o666) & ~mask)


def text_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass
class ActivationCache:
    """Pooled states of texts under one extraction setting: ``get`` / ``put`` by text hash."""

    directory: Path
    hits: int = 0
    misses: int = 0
    corrupt: int = 0

    @classmethod
    def open(cls, root: Path, settings: dict) -> "ActivationCache":
        """The cache folder for ``settings`` (JSON-able) under ``root``, created with a readable key.json."""
        settings = {"cache_format": CACHE_FORMAT, **settings}
        blob = json.dumps(settings, sort_keys=True, separators=(",", ":"))
        directory = root / "activations" / hashlib.sha256(blob.encode()).hexdigest()[:24]
        key_file = directory / "key.json"
        if not key_file.exists():
            atomic_write_text(key_file, json.dumps(settings, indent=2, sort_keys=True) + "\n")
        return cls(directory=directory)

    def _path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.safetensors"

    def has(self, key: str, layers: list[int]) -> bool:
        """Whether an entry with these layers exists, from its header alone (its checksum is checked on ``get``)."""
        from safetensors import SafetensorError, safe_open

        path = self._path(key)
        try:
            with safe_open(str(path), framework="numpy") as fh:
                stored = (fh.metadata() or {}).get("layers", "")
        except (FileNotFoundError, SafetensorError, OSError):
            return False
        return set(layers) <= {int(x) for x in stored.split(",") if x.strip().isdigit()}

    def get(self, key: str, layers: list[int]) -> np.ndarray | None:
        """The [len(layers), hidden] float32 states of a text, or None when absent, partial or corrupt."""
        from safetensors import safe_open

        path = self._path(key)
        if not path.exists():
            self.misses += 1
            return None
        try:
            with safe_open(str(path), framework="numpy") as fh:
                meta = fh.metadata() or {}
                states = fh.get_tensor("pooled")
            stored = [int(x) for x in meta["layers"].split(",")]
            valid = hashlib.sha256(states.tobytes()).hexdigest() == meta["sha256"]
        except Exception:  # any unreadable entry (truncated, garbage header, missing key) is a miss
            valid = False
        if not valid:
            self.corrupt += 1
            self.misses += 1
            return None
        if not set(layers) <= set(stored):
            self.misses += 1
            return None
        self.hits += 1
        return states[[stored.index(layer) for layer in layers]]

    def put(self, key: str, layers: list[int], states: np.ndarray) -> None:
        from safetensors.numpy import save

        states = np.ascontiguousarray(states, dtype=np.float32)
        meta = {"layers": ",".join(map(str, layers)), "sha256": hashlib.sha256(states.tobytes()).hexdigest()}
        atomic_write_bytes(self._path(key), save({"pooled": states}, metadata=meta))
