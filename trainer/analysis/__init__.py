"""The analysis of a run: each step a pure function of the run's arrays returning a typed result
(quality, validation with its probes and confounds, the researcher's analyses, triage, compare);
``pipeline`` runs them and writes their reports through the run folder."""
