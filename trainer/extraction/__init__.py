"""From texts to pooled hidden states: find and load the model, hook its blocks, pool, cache per
text, and share the work across ``torchrun`` ranks."""
