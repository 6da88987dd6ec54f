"""Data-parallel extraction: the ranks of a ``torchrun`` launch share out the texts the cache lacks.

``torchrun`` (and ``accelerate launch`` or ``srun torchrun``, which start the same way) sets RANK,
WORLD_SIZE, LOCAL_RANK and the rendezvous address in each process's environment. amygdala reads
them, joins a ``torch.distributed`` process group (NCCL on GPUs, gloo on CPUs), and uses the group
only for barriers and a final gather of counts: the texts themselves meet in the content-addressed
activation cache, which every rank can read and write. A rank that dies loses only the batch it was
working on; rerunning the same command finds the rest in the cache.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

from base.errors import AmygdalaError

# A rank that finishes its share first waits at the barrier for the slowest one.
DEFAULT_TIMEOUT_MINUTES = 120


class OtherRank(Exception):
    """Raised on a rank other than 0 once it has extracted its share: rank 0 alone computes and reports."""


@dataclass(frozen=True)
class Ranks:
    """This process's place in the launch; one process alone is rank 0 of 1."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world > 1


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise AmygdalaError(f"environment variable {name}={raw!r} is not a whole number") from exc


def from_environment() -> Ranks:
    """The ranks a launcher (torchrun, accelerate, srun + torchrun) set; rank 0 of 1 without one."""
    world = _env_int("WORLD_SIZE", 1)
    rank = _env_int("RANK", 0)
    local = _env_int("LOCAL_RANK", rank)
    if world < 1 or not 0 <= rank < world:
        raise AmygdalaError(f"RANK={rank} and WORLD_SIZE={world} do not describe a process of the launch")
    return Ranks(rank=rank, world=world, local_rank=local)


def rank_device(ranks: Ranks, device: str) -> str:
    """The device a rank extracts on: its own GPU (cuda:LOCAL_RANK) when several ranks share a node."""
    if ranks.distributed and device == "cuda":
        return f"cuda:{ranks.local_rank}"
    return device


@contextmanager
def process_group(ranks: Ranks, device: str) -> Iterator[None]:
    """Join the launch's process group for the duration (nothing to do for one process)."""
    if not ranks.distributed:
        yield
        return
    import torch.distributed as dist

    backend = "nccl" if device.startswith("cuda") else "gloo"
    minutes = _env_int("AMYGDALA_DIST_TIMEOUT_MINUTES", DEFAULT_TIMEOUT_MINUTES)
    owned = not dist.is_initialized()
    if owned:
        if device.startswith("cuda"):
            import torch

            torch.cuda.set_device(ranks.local_rank)
        try:
            dist.init_process_group(backend, timeout=timedelta(minutes=minutes))
        except (RuntimeError, ValueError) as exc:
            raise AmygdalaError(f"could not join the {backend} process group of rank {ranks.rank}/{ranks.world}: {exc}") from exc
    finished = False
    try:
        yield
        finished = True
    finally:
        if owned and dist.is_initialized():
            if finished:
                # Tear down together: in CI a rank that left while rank 0 still held the group open
                # aborted in gloo's teardown (SIGABRT), and torchrun then ended rank 0 and lost the run.
                dist.barrier()
            dist.destroy_process_group()


def barrier(ranks: Ranks) -> None:
    if ranks.distributed:
        import torch.distributed as dist

        dist.barrier()


def gather_counts(ranks: Ranks, *counts: int) -> list[tuple[int, ...]]:
    """Every rank's ``counts``, in rank order (on every rank), in one collective call."""
    if not ranks.distributed:
        return [tuple(counts)]
    import torch.distributed as dist

    gathered: list[tuple[int, ...]] = [()] * ranks.world
    dist.all_gather_object(gathered, tuple(counts))
    return [tuple(int(c) for c in row) for row in gathered]


def shard(indices: Sequence[int], lengths: Sequence[int], ranks: Ranks) -> list[int]:
    """This rank's share of ``indices``: disjoint across ranks, the same on every rank for the same
    input, and balanced in work by dealing the texts out longest first."""
    order = sorted(indices, key=lambda i: (-lengths[i], i))
    return order[ranks.rank :: ranks.world]
