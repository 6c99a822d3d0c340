"""Seeing an optimization: the HTML report of a run and a live terminal view.

- :func:`write_report` (``wordgrad report RUN_DIR``): one self-contained HTML file with the
  accuracy plot, every step's change and the feedback behind it, usage, and the graph of a step.
- :class:`LiveView` and :func:`follow`: step, accuracy, tokens and cost while a run goes on.

Both read the run's event log (:mod:`wordgrad.train.events`); see ``docs/report.md``.
"""

from wordgrad.report.html import build_report, write_report
from wordgrad.report.live import LiveView, follow, tail_events

__all__ = ["LiveView", "build_report", "follow", "tail_events", "write_report"]
