"""Upstream's ``textgrad.engine_experimental.base``: the experimental engine contract.

Upstream's experimental engines implement ``_generate_from_single_prompt(prompt, system_prompt,
**kwargs)`` and ``_generate_from_multiple_input(content, system_prompt, **kwargs)``; ``generate``
picks one by the input's type. :class:`EngineLM` here is wordgrad's engine base with that
contract on top, so such a subclass runs through wordgrad's pipeline (cache, retries, limits,
usage) unchanged.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

from wordgrad.engine.base import EngineLM as _EngineLM
from wordgrad.errors import InvalidInputError
from wordgrad.llm import Capabilities, ImagePart, Request, Response, Usage

F = TypeVar("F", bound=Callable[..., Any])


def cached(func: F) -> F:
    """Upstream's caching decorator. wordgrad caches every request its engines send (keyed by
    the whole request, see :mod:`wordgrad.engine.cache`), so this returns ``func`` unchanged."""
    return func


class EngineLM(_EngineLM):
    """An engine implementing upstream's experimental contract (see the module docs).

    Args:
        model_string: the model's name.
        system_prompt: used when a call gives none.
        is_multimodal: whether ``_generate_from_multiple_input`` takes images.
        cache: ``False`` (upstream's default), ``True``, a path, or a ``diskcache.Cache``.
    """

    def __init__(
        self,
        model_string: str,
        system_prompt: str | None = None,
        is_multimodal: bool = False,
        cache: Any = False,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("capabilities", Capabilities(images=is_multimodal))
        super().__init__(model_string, system_prompt, cache=cache, **kwargs)
        self.is_multimodal = is_multimodal

    def _generate_from_single_prompt(
        self, prompt: str, system_prompt: str | None = None, **kwargs: Any
    ) -> str:
        raise NotImplementedError(f"{type(self).__name__} must implement this method")

    def _generate_from_multiple_input(
        self, content: list[str | bytes], system_prompt: str | None = None, **kwargs: Any
    ) -> str:
        raise NotImplementedError(f"{type(self).__name__} must implement this method")

    def complete(self, request: Request) -> Response:
        started = time.perf_counter()
        content = request.messages[-1].content
        params = request.sampling_params()
        if isinstance(content, str):
            text = self._generate_from_single_prompt(
                content, system_prompt=request.system_prompt, **params
            )
        else:
            parts = [p.data if isinstance(p, ImagePart) else p for p in content]
            text = self._generate_from_multiple_input(
                parts, system_prompt=request.system_prompt, **params
            )
        if not isinstance(text, str):
            raise InvalidInputError(
                f"{type(self).__name__} returned {type(text).__name__}; it must return a str"
            )
        return Response(
            texts=(text,),
            usage=Usage.estimate(request, [text]),
            model=self.model_string,
            latency_s=time.perf_counter() - started,
        )


__all__ = ["EngineLM", "cached"]
