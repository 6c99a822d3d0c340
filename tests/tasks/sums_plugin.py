"""The ``--plugin`` for one's-own-data command-line tests and the README's commands.

Registers the engines ``scripted-sums`` and, for the README's commands, ``gpt-4o-mini`` and
``gpt-4o``, all answering with :func:`tests.tasks.sums.script`, and the task ``sums``. Load it
only in a subprocess (``--plugin tests.tasks.sums_plugin`` or ``$WORDGRAD_PLUGINS``): it
replaces real model names.
"""

from __future__ import annotations

from tests.tasks.sums import RECORDS, script
from wordgrad.engine import ScriptedEngine, register_engine
from wordgrad.tasks.user import make_task, register_task

for _name in ("scripted-sums", "gpt-4o-mini", "gpt-4o"):
    register_engine(_name, lambda _name=_name, **kw: ScriptedEngine(script, model_string=_name))

register_task(
    "sums",
    lambda: make_task(RECORDS[:2], RECORDS[2:], RECORDS, metric="numeric", prompt="Add them."),
)
