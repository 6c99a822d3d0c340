"""Templates of test-time code optimization (:mod:`wordgrad.train.code_optimization`).

Merged into :data:`wordgrad.prompts.TEMPLATES`; snapshot-tested with the rest.
"""

from __future__ import annotations

CODE_TEMPLATES: dict[str, str] = {}

# System prompt of the first (zero-shot) solution and of the Reflexion baseline's rewrites.
CODE_TEMPLATES["code.programmer_system"] = """\
You are an experienced Python programmer. You write correct, efficient and self-contained \
solutions to programming problems, and you read a problem's constraints and edge cases \
before you write code."""

# The zero-shot request: the problem (a signature with its statement as the docstring).
CODE_TEMPLATES["code.zero_shot"] = """\
Implement the Python function below. Keep its name and parameters, import every module the \
code uses, and add no tests, asserts or example calls. Reply with the complete code in one \
```python block.

{prompt}"""

# Role of the code variable, as the feedback writer and the optimizer see it.
CODE_TEMPLATES["code.role"] = (
    "Python code implementing the function `{entry_point}` described in the task; it is run "
    "against the task's tests"
)

# Role of the (frozen) requests of the zero-shot solution and the Reflexion baseline.
CODE_TEMPLATES["code.role_request"] = "request to the programmer"

# What the critic sees as the task: the problem and the example tests the code is run on.
CODE_TEMPLATES["code.context"] = """\
{prompt}

The code is run on these example tests:
{tests}"""

# TGD constraints on every rewrite of the code.
CODE_TEMPLATES["code.constraint_signature"] = (
    "The code must define the function `{entry_point}` with the parameters given in the task."
)
CODE_TEMPLATES["code.constraint_code_only"] = (
    "The new value is Python code only: explanations go in comments, and there are no tests, "
    "asserts or example calls; it imports every module it uses."
)

# The critic's instruction (the loss of code optimization).
CODE_TEMPLATES["code.critic_instruction"] = """\
Below are a programming task, an implementation of it, and what happened when the \
implementation ran on the task's example tests. Find what is wrong: for each failing test, \
say which part of the code computes the wrong value and why. Then name edge cases from the \
task statement that the code gets wrong, and any slowness that could break a time limit. Be \
specific and brief, and do not write the corrected code."""

# Reflexion baseline, first call of an attempt: the model reflects on its failed attempt.
CODE_TEMPLATES["code.reflection"] = """\
The task:
{prompt}

Your implementation:
```python
{code}
```

What happened when it ran on the example tests:
{results}

In a few sentences, explain why your implementation fails and what you will change. Do not \
write code."""

# Reflexion baseline, second call: a new attempt from the last one, its results and every
# reflection so far (the baseline's memory).
CODE_TEMPLATES["code.reflexion_rewrite"] = """\
The task:
{prompt}

Your last implementation:
```python
{code}
```

What happened when it ran on the example tests:
{results}

Your reflections on your attempts so far:
{reflections}

Write an improved implementation. Keep the function's name and parameters and import every \
module the code uses. Reply with the complete code in one ```python block."""
