"""Test-time code optimization, as in the paper's LeetCode-Hard experiment, with its baselines.

For each problem the model first writes a solution zero-shot. That code is the variable. Each
iteration runs it against the problem's *visible* tests in the sandbox (:mod:`wordgrad.sandbox`),
an LLM critic reads the code with the test results (the loss), ``backward`` turns the critique
into feedback, and a TGD step rewrites the code. With ``stop_early`` an instance stops as soon as
every visible test passes (then the hidden tests are never needed to decide).

Built on :class:`~wordgrad.train.instance_optimization.InstanceOptimization`: the measure is
:func:`visible_tests_measure` (fraction of visible tests passed; its feedback is the test report
the critic reads), each step is checkpointed, every iterate's code and test results are written
to the run log as ``iterate`` events, and a killed run resumes.

Baselines on the same problems, from the same zero-shot code:

- **zero-shot**: that first solution;
- **Reflexion-style** (Shinn et al., 2023, arXiv 2303.11366): the model runs its code on the
  visible tests, writes a reflection on the failure, and writes a new attempt from its code, the
  results and all its reflections so far, for the same number of iterations, stopping when the
  visible tests pass. No graph, no critic, no TGD.

Metric (pass@1, one solution per problem and method, with a 95% bootstrap interval, and paired
tests between methods): on **HumanEval** the official ``check`` tests, which the optimizer never
sees; on **LeetCode-Hard** "passes all visible examples", because LeetCode's hidden tests need
LeetCode's servers. The LeetCode number is therefore not the paper's completion rate.

::

    from wordgrad.train.code_optimization import CodeOptimizationConfig, optimize_code
    results = optimize_code(CodeOptimizationConfig(task="humaneval", model="gpt-4o"), "runs/he")
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from wordgrad import prompts
from wordgrad.engine.base import EngineLM
from wordgrad.errors import ConfigurationError
from wordgrad.executor import counted_as
from wordgrad.graph import no_grad
from wordgrad.model import BlackboxLLM
from wordgrad.sandbox import Limits, SandboxResult, TestCase, default_sandbox
from wordgrad.tasks.code import CodeProblem, extract_code
from wordgrad.tasks.humaneval import humaneval_problems
from wordgrad.tasks.leetcode import leetcode_problems
from wordgrad.train.evaluate import accuracy_summary, paired_summary
from wordgrad.train.instance_optimization import InstanceOptimization, InstanceOptimizationConfig
from wordgrad.train.objective import Instance, Score, Trajectory
from wordgrad.variable import Variable

TASKS = ("humaneval", "leetcode-hard")
METRIC_NAMES = {"humaneval": "pass@1 (hidden tests)", "leetcode-hard": "pass@1 (visible examples)"}
METRICS = {
    "humaneval": "HumanEval's hidden check tests (never shown to the optimizer)",
    "leetcode-hard": (
        "all visible examples pass (LeetCode's hidden tests need its servers, so this is a "
        "weaker proxy than the paper's completion rate)"
    ),
}


@dataclass(frozen=True)
class CodeOptimizationConfig:
    """What a code-optimization run computes; saved as the run's ``config.json``.

    Args:
        task: ``"humaneval"`` or ``"leetcode-hard"``.
        model: writes the zero-shot solutions (and the Reflexion baseline's attempts).
        backward_model: critic, feedback writer and rewriter (default: ``model``).
        iterations: critique-and-rewrite rounds per problem (the paper's script: 4).
        batch_size: problems optimized side by side (one checkpoint per step).
        stop_early: stop a problem once all its visible tests pass.
        reflexion: also run the Reflexion-style baseline.
        size: only the first N problems (``None``: all).
        steps: stop the run after N steps (``None``: until every problem is done).
        momentum_window: show the optimizer the last k versions of the code with feedback.
        timeout_s: wall-clock limit of one sandbox run (CPU limit: the same, rounded down).
        reply_tokens: cap critiques and feedback at N tokens (rewrites are never capped).
    """

    task: str = "humaneval"
    model: str = "local"
    backward_model: str | None = None
    iterations: int = 4
    batch_size: int = 4
    stop_early: bool = True
    reflexion: bool = True
    size: int | None = None
    steps: int | None = None
    momentum_window: int = 0
    timeout_s: float = 10.0
    reply_tokens: int | None = None

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ConfigurationError(
                f"unknown code task {self.task!r}; use one of {', '.join(TASKS)}"
            )
        if self.iterations < 0 or self.batch_size < 1 or self.timeout_s <= 0:
            raise ConfigurationError(
                "iterations must be >= 0, batch_size >= 1 and timeout_s > 0, got "
                f"{self.iterations}, {self.batch_size}, {self.timeout_s}"
            )

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def instance_config(self) -> InstanceOptimizationConfig:
        return InstanceOptimizationConfig(
            model=self.model,
            backward_model=self.backward_model,
            iterations=self.iterations,
            batch_size=self.batch_size,
            momentum_window=self.momentum_window,
            stop_at=1.0 if self.stop_early else None,
            critic_instruction=prompts.render("code.critic_instruction"),
            steps=self.steps,
            reply_tokens=self.reply_tokens,
        )


def load_problems(
    task: str, *, data_dir: str | os.PathLike[str] | None = None, size: int | None = None
) -> list[CodeProblem]:
    """The problems of ``task`` (``"humaneval"`` or ``"leetcode-hard"``)."""
    if task == "humaneval":
        return humaneval_problems(data_dir=data_dir, size=size)
    if task == "leetcode-hard":
        return leetcode_problems(data_dir=data_dir, size=size)
    raise ConfigurationError(f"unknown code task {task!r}; use one of {', '.join(TASKS)}")


def complete_solution(problem: CodeProblem, code: str) -> str:
    """``code``, or the problem's prompt followed by ``code`` when the model wrote only the
    function's body (indented lines that do not define the function)."""
    defines = re.search(rf"^\s*def\s+{re.escape(problem.entry_point)}\s*\(", code, re.MULTILINE)
    if defines or not code.strip() or not code.startswith((" ", "\t")):
        return code
    return problem.prompt.rstrip("\n") + "\n" + code


def visible_cases(problem: CodeProblem) -> tuple[TestCase, ...]:
    """The visible tests, or, when the statement gives none, a check that the function exists."""
    if problem.visible:
        return problem.visible
    name = problem.entry_point
    return (TestCase.run(f"assert callable({name}), '{name} is not defined'"),)


def problem_instance(problem: CodeProblem, timeout_s: float) -> Instance:
    """The instance for one problem; its value (the zero-shot code) is filled in later."""
    cases = visible_cases(problem)
    return Instance(
        id=problem.task_id,
        value="",
        role=prompts.render("code.role", entry_point=problem.entry_point),
        context=prompts.render(
            "code.context", prompt=problem.prompt, tests=problem.visible_tests_text()
        ),
        constraints=(
            prompts.render("code.constraint_signature", entry_point=problem.entry_point),
            prompts.render("code.constraint_code_only"),
        ),
        data={
            "cases": [case.as_job() for case in cases],
            "prelude": problem.prelude,
            "timeout_s": timeout_s,
        },
    )


def _limits(timeout_s: float) -> Limits:
    return Limits(wall_s=timeout_s, cpu_s=max(1, int(timeout_s)))


def run_visible(instance: Instance, code: str) -> SandboxResult:
    """Run ``code`` on the visible tests stored in ``instance.data``, in the sandbox."""
    cases = [TestCase(**case) for case in instance.data["cases"]]
    return default_sandbox().run(
        extract_code(code),
        cases,
        prelude=str(instance.data.get("prelude", "")),
        limits=_limits(float(instance.data.get("timeout_s", 10.0))),
    )


def visible_tests_measure(instance: Instance, value: str) -> Score:
    """The measure of code optimization: the fraction of visible tests passed, in the sandbox.

    ``feedback`` is the test report (each case with expected and actual values, errors, why
    the run stopped, printed output); ``details["visible"]`` the whole structured result.
    """
    result = run_visible(instance, value)
    total = result.expected_cases
    # 1.0 exactly when the run passed (all cases, and it finished normally)
    score = 1.0 if result.passed else min(result.passed_count, total - 1) / total
    return Score(score, feedback=result.feedback(), details={"visible": result.as_dict()})


def final_pass(problem: CodeProblem, code: str, timeout_s: float) -> tuple[bool, dict[str, Any]]:
    """Whether ``code`` passes the problem's scoring tests (hidden if any, else the visible
    ones), with the structured result."""
    hidden = bool(problem.hidden)
    result = default_sandbox().run(
        extract_code(code),
        problem.hidden if hidden else visible_cases(problem),
        prelude=problem.prelude,
        setup=problem.hidden_setup if hidden else "",
        limits=_limits(timeout_s),
    )
    return result.passed, result.as_dict()


def reflexion(
    instance: Instance, prompt: str, code: str, engine: EngineLM, iterations: int
) -> list[dict[str, Any]]:
    """The Reflexion-style baseline from ``code``: attempts with their reflections and results.

    Each attempt after the first costs two calls (a reflection, then new code); it stops once
    the visible tests pass or after ``iterations`` new attempts.
    """
    model = BlackboxLLM(engine, prompts.render("code.programmer_system"))
    result = run_visible(instance, code)
    attempts = [{"iteration": 0, "code": code, "reflection": "", "visible": result.as_dict()}]
    reflections: list[str] = []
    for iteration in range(1, iterations + 1):
        if result.passed:
            break
        fields = {"prompt": prompt, "code": code, "results": result.feedback()}
        with no_grad(), counted_as("other"):
            reflection = model(_text(prompts.render("code.reflection", **fields))).text
            reflections.append(reflection.strip())
            listed = "\n".join(f"{n}. {r}" for n, r in enumerate(reflections, start=1))
            request = prompts.render("code.reflexion_rewrite", **fields, reflections=listed)
            code = extract_code(model(_text(request)).text)
        result = run_visible(instance, code)
        attempts.append(
            {
                "iteration": iteration,
                "code": code,
                "reflection": reflection,
                "visible": result.as_dict(),
            }
        )
    return attempts


def _text(text: str) -> Variable:
    return Variable(text, requires_grad=False, role_description=prompts.render("code.role_request"))


class CodeOptimization(InstanceOptimization):
    """The test-time code loop with its baselines; :func:`optimize_code` is the short way.

    Args:
        config: the settings.
        run_dir: the run's directory (an existing run of the same settings is continued).
        problems: the problems to use instead of loading ``config.task`` (e.g. in tests).
        **options: those of :class:`~wordgrad.train.loop.RunLoop` (``data_dir``, engines,
            ``max_concurrency``, ``budget``, ``reporter``, ``on_event`` ...).
    """

    kind = "code"

    def __init__(
        self,
        config: CodeOptimizationConfig,
        run_dir: str | os.PathLike[str],
        *,
        problems: Sequence[CodeProblem] | None = None,
        **options: Any,
    ) -> None:
        if problems is None:
            problems = load_problems(
                config.task, data_dir=options.get("data_dir"), size=config.size
            )
        self.code_config = config
        self.problems = {problem.task_id: problem for problem in problems}
        instances = [problem_instance(p, config.timeout_s) for p in problems]
        super().__init__(
            config.instance_config(), run_dir, instances, visible_tests_measure, **options
        )
        self._pair: tuple[EngineLM, EngineLM] | None = None

    def _identity(self) -> dict[str, Any]:
        # config.json holds the code settings too, so a resume with other settings is refused
        return {**super()._identity(), "code": self.code_config.as_dict()}

    def engines(self) -> tuple[EngineLM, EngineLM]:
        """The forward and backward engines, built once per run."""
        if self._pair is None:
            self._pair = super().engines()
        return self._pair

    def prepare(self, instance: Instance) -> Instance:
        """Write the zero-shot solution (the starting value) and run the Reflexion baseline."""
        forward, _ = self.engines()
        problem = self.problems[instance.id]
        model = BlackboxLLM(forward, prompts.render("code.programmer_system"))
        with no_grad(), counted_as("forward"):
            reply = model(_text(prompts.render("code.zero_shot", prompt=problem.prompt))).text
        code = complete_solution(problem, extract_code(reply))
        data = dict(instance.data)
        if self.code_config.reflexion:
            data["reflexion"] = reflexion(
                instance, problem.prompt, code, forward, self.code_config.iterations
            )
        return dataclasses.replace(instance, value=code, data=data)

    def summarize(self, instance: Instance, trajectory: Trajectory) -> dict[str, Any]:
        """The base summary plus each method's pass/fail on the scoring tests and every
        iterate's visible and scoring results."""
        summary = super().summarize(instance, trajectory)
        problem = self.problems[instance.id]
        timeout = self.code_config.timeout_s
        iterates: list[dict[str, Any]] = []
        for iterate in trajectory.iterates:
            passed, result = final_pass(problem, iterate.value, timeout)
            iterates.append(
                {
                    "iteration": iterate.iteration,
                    "visible_score": iterate.score.value,
                    "passed": passed,
                    "result": result,
                }
            )
        summary["iterates"] = iterates
        summary["zero_shot_pass"] = 1.0 if iterates[0]["passed"] else 0.0
        summary["textgrad_pass"] = 1.0 if iterates[-1]["passed"] else 0.0
        attempts = instance.data.get("reflexion")
        if attempts:
            passed, result = final_pass(problem, attempts[-1]["code"], timeout)
            summary["reflexion"] = attempts
            summary["reflexion_pass"] = float(passed)
            summary["reflexion_result"] = result
        return summary

    def results(self, summaries: list[dict[str, Any]]) -> dict[str, Any]:
        """pass@1 of each method with intervals, and paired comparisons on the same problems."""
        results = super().results(summaries)
        methods = {"zero-shot": "zero_shot_pass", "TextGrad": "textgrad_pass"}
        if self.code_config.reflexion:
            methods = {"zero-shot": "zero_shot_pass", "Reflexion": "reflexion_pass", **methods}
        scores = {
            label: [float(s.get(key, 0.0)) for s in summaries] for label, key in methods.items()
        }
        pairs = [("zero-shot", "TextGrad")]
        if "Reflexion" in scores:
            pairs += [("Reflexion", "TextGrad"), ("zero-shot", "Reflexion")]
        comparisons = {}
        for before, after in pairs:
            key = f"{after}_vs_{before}".lower().replace("-", "_")
            comparisons[key] = paired_summary(
                scores[before],
                scores[after],
                name=METRIC_NAMES[self.code_config.task],
                before_label=before,
                after_label=after,
            )
        results.update(comparisons)
        results["task"] = self.code_config.task
        results["metric"] = METRICS[self.code_config.task]
        results["pass_at_1"] = {label: accuracy_summary(s) for label, s in scores.items()}
        results["comparisons"] = list(comparisons)
        return results


def optimize_code(
    config: CodeOptimizationConfig | None = None,
    run_dir: str | os.PathLike[str] = "runs/code",
    **options: Any,
) -> dict[str, Any]:
    """Run (or continue) a code optimization; see :class:`CodeOptimization`."""
    return CodeOptimization(config or CodeOptimizationConfig(), run_dir, **options).run()
