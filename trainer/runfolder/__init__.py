"""The run folder: ``folder`` is the one module that opens its files; ``data`` is the typed,
memory-mapped run that every later step takes as input."""
