"""Several samples of the same call (self-consistency, majority votes) at temperature > 0.

The cache and the executor's de-duplication key every request by its full content, so asking the
same question five times returns the first reply five times: exactly right at temperature 0, and
the wrong thing when the point is to draw different replies. A request's ``sample`` index is part
of that key and is never sent to the provider, so sample 0, 1, 2 ... are five different requests
to the cache (each cached on its own, so rerunning a vote costs nothing) and the same request to
the model.

- Direct calls: ``engine.generate(prompt, sample=i)``.
- Operations (``BlackboxLLM``, ``LLMCall``, losses): build them with :func:`sampled`, an engine
  that adds its sample index to every request it builds::

      votes = [tg.BlackboxLLM(tg.engine.sampled(engine, i))(question) for i in range(5)]

A provider's own ``n`` (several choices in one call) is part of the key too:
``engine.generate(prompt, n=5)`` asks once for five choices, where the provider supports it.
With a fixed ``seed``, also give each sample its own seed, or the model repeats itself.
"""

from __future__ import annotations

import copy
from typing import TypeVar

from wordgrad.engine.base import EngineLM
from wordgrad.errors import InvalidInputError

E = TypeVar("E", bound=EngineLM)


def sampled(engine: E, index: int) -> E:
    """A view of ``engine`` whose requests carry sample index ``index``.

    It shares everything else with ``engine``: the client, the cache, limits and the usage
    totals.

    Raises:
        InvalidInputError: ``index`` is not a whole number >= 0.
    """
    if isinstance(index, bool) or not isinstance(index, int) or index < 0:
        raise InvalidInputError(f"a sample index is a whole number >= 0, got {index!r}")
    view = copy.copy(engine)
    view.default_params = {**getattr(engine, "default_params", {}), "sample": index}
    # The executor queues the view's calls in the original engine's lane (its limits and rate).
    view.lane_owner = getattr(engine, "lane_owner", None) or engine
    return view


__all__ = ["sampled"]
