"""A minibatch prompt-optimization step; prints every request it sent, canonically.

Run as a script by test_determinism.py, twice, with different hash seeds.
"""

from __future__ import annotations

import json
import sys

import wordgrad as tg
from wordgrad.llm import Request


def script(request: Request) -> str:
    system = request.system_prompt or ""
    if request.purpose == "optimizer":
        return "<IMPROVED_VARIABLE>Think, then answer with a number.</IMPROVED_VARIABLE>"
    if request.purpose == "backward":
        return f"feedback #{len(request.prompt) % 97}"
    if system.startswith("Judge"):
        return f"verdict on {request.prompt[-12:]}"
    return f"answer {len(request.prompt)}"


def main() -> None:
    engine = tg.ScriptedEngine(script, latency_s=0.001)
    tg.set_backward_engine(engine, override=True)
    tg.set_max_concurrency(int(sys.argv[1]) if len(sys.argv) > 1 else 8)
    prompt = tg.Variable("Answer.", requires_grad=True, role_description="system prompt")
    model = tg.BlackboxLLM(engine, prompt)
    loss_fn = tg.TextLoss("Judge the answer.")
    losses = []
    for i in range(6):
        question = tg.Variable(
            f"question {i} " * (i + 1), requires_grad=False, role_description="q"
        )
        losses.append(loss_fn(model(question)))
    total = tg.sum(losses)
    total.backward()
    tg.TGD(parameters=[prompt]).step()
    sent = sorted(json.dumps(r.canonical(), sort_keys=True) for r in engine.requests)
    gradients = [g.value for g in prompt.gradients]
    print(json.dumps({"requests": sent, "gradients": gradients, "prompt": prompt.value}))


if __name__ == "__main__":
    main()
