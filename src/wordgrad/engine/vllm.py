"""Upstream's ``textgrad.engine.vllm``: models served by vLLM.

Upstream loaded the model into the Python process with ``vllm.LLM(**llm_config)``. wordgrad talks
to vLLM's OpenAI-compatible server instead (``vllm serve <model>``, default address
``http://localhost:8000/v1``, ``VLLM_BASE_URL`` overrides it), which keeps the GPU process apart
and lets several programs share it.
"""

from __future__ import annotations

from typing import Any

from wordgrad.engine.openai_compat import OpenAICompatibleEngine
from wordgrad.errors import ConfigurationError

_IN_PROCESS = ("llm_engine", "tensor_parallel_size", "gpu_memory_utilization", "dtype", "device")


class ChatVLLM(OpenAICompatibleEngine):
    """A model on a vLLM server; ``ChatVLLM(m)`` is ``get_engine("vllm/" + m)``.

    Raises:
        ConfigurationError: options of an in-process ``vllm.LLM`` (``llm_engine``,
            ``tensor_parallel_size``, ``gpu_memory_utilization``...): give them to
            ``vllm serve`` instead.
    """

    def __init__(
        self,
        model_string: str = "meta-llama/Meta-Llama-3-8B-Instruct",
        system_prompt: str | None = None,
        **kwargs: Any,
    ) -> None:
        in_process = sorted(name for name in kwargs if name in _IN_PROCESS)
        if in_process:
            raise ConfigurationError(
                f"ChatVLLM talks to a vLLM server, so {in_process} cannot be set here: start "
                f"the server with them (vllm serve {model_string} --tensor-parallel-size ...) "
                "and pass base_url='http://<host>:8000/v1' if it is not local"
            )
        kwargs.setdefault("service", "vllm")
        super().__init__(model_string.removeprefix("vllm-"), system_prompt, **kwargs)


__all__ = ["ChatVLLM"]
