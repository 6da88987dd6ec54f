"""The layer below everything: the one error type, strict JSON reading and atomic writes.

Imports nothing of the project; ``schemas``, ``toolkit`` and ``trainer`` build on it."""
