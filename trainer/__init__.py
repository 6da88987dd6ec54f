"""Training: hidden-state extraction, the activation cache, concept vectors and the run folder."""
