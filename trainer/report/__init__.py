"""How a run reads: the pictures (``plots``, ``evalplots``), triage.md and report.html
(``render`` with its Jinja2 ``templates/``), and the number formats they share (``formatting``)."""
