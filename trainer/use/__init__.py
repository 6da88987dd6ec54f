"""Using a run's vectors: read new text out (``readout``), measure held-out accuracy
(``evaluate``), and steer the model (``steering``)."""
