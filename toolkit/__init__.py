"""amygdala: author, lint and train on a hand-written corpus of emotion stories."""

__version__ = "0.1.0"
