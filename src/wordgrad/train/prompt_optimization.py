"""Prompt optimization as in the paper: a system prompt trained on minibatches, kept honest by
validation.

Each step takes a minibatch of training questions, runs the model with the current prompt,
scores each answer (the score is the loss), passes the textual feedback back to the prompt and
lets TGD rewrite it. With validation on, the new prompt is then scored on the validation split;
when it scores *lower* than the prompt it replaced, the old prompt is restored (a tie keeps the
new one). Epochs reshuffle the training split; the paper stops each epoch after 4 steps
(``steps_per_epoch``), giving 3 x 4 = 12 updates with its settings (batch 3, seed 42).

At the start the initial prompt is scored on validation (and test); at the end the final prompt
is, and both are reported with 95% bootstrap intervals and a paired test on the same examples.

Everything runs inside a :class:`~wordgrad.train.runs.Run`: each step's events and a checkpoint
(prompt, optimizer state with its memory, epoch and batch position, the shuffling RNG's state,
validation scores, usage so far) are committed together, so a killed run continues exactly where
it stopped when started again with the same run directory.

::

    from wordgrad.train import PromptOptimizationConfig, optimize_prompt
    results = optimize_prompt(PromptOptimizationConfig(model="gpt-4o-mini"), "runs/bbh")
    print(results["val"])
"""

from __future__ import annotations

import dataclasses
import math
import os
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import wordgrad as tg
from wordgrad.engine.base import EngineLM
from wordgrad.errors import ConfigurationError
from wordgrad.tasks import DataLoader, load_task
from wordgrad.tasks.objectives import LLMJudge, Metric
from wordgrad.tasks.user import Task, get_registered_task, make_task
from wordgrad.train.evaluate import (
    EvalFn,
    Example,
    accuracy_summary,
    answer_variable,
    evaluate,
    judge,
    paired_summary,
    question_variable,
    score_of,
)
from wordgrad.train.loop import Projection, RunLoop
from wordgrad.train.progress import Advance
from wordgrad.train.results import SYSTEM_PROMPT
from wordgrad.train.runs import Run

PROMPT_ROLE = (
    "system prompt of a language model answering the task's questions: the strategy it should "
    "follow and the format of its final answer"
)


@dataclass(frozen=True)
class PromptOptimizationConfig:
    """What a prompt-optimization run computes; saved as the run's ``config.json``.

    Defaults are the paper's settings (BBH object counting, batch 3, 3 epochs of 4 steps,
    seed 42, validation that reverts worse prompts), except the engines: the embedded local
    model by default, so it runs without keys.

    Args:
        task: a :func:`~wordgrad.tasks.load_task` name.
        model: the engine that answers questions (the forward engine).
        backward_model: the engine that writes feedback, updates the prompt and judges answers
            when the metric needs a judge (default: ``model``).
        batch_size: training questions per step.
        max_epochs: passes over the (shuffled) training split.
        steps_per_epoch: stop each epoch after this many steps (``None``: use every batch).
        steps: stop after this many steps in total (``None``: no limit beyond epochs).
        seed: seeds the shuffling of the training split.
        validation: revert an update that lowers validation accuracy.
        train_size / val_size / test_size: use only the first this many examples of a split
            (``None``: all; ``test_size=0`` skips the test evaluation).
        metric: for benchmarks ``"default"``, ``"exact"`` or ``"llm"`` (see
            :mod:`wordgrad.tasks`); for one's own data ``"exact"``, ``"numeric"``, ``"choice"``,
            ``"regex"`` (with ``pattern``), ``"judge"`` (with ``rubric``) or
            ``"module:function"`` (see :mod:`wordgrad.tasks.objectives`).
        starting_prompt: the initial prompt (default: the task's own description).
        train_file / val_file / test_file: one's own data (``.jsonl``, ``.json`` or ``.csv``);
            with ``train_file`` set, ``task`` is only a label.
        input_field / target_field: the fields of one's own records that hold the model's
            input and the expected output.
        pattern: the regular expression of ``metric="regex"``.
        rubric: what the judge of ``metric="judge"`` grades by.
        program: set by :class:`PromptOptimization` when given a program of your own
            (``module:class``; its variables are what is optimized).
        gradient_memory / momentum_window: TGD's options.
        reply_tokens: cap answers and feedback at this many tokens (``None``: the engines'
            defaults), which keeps a small local model from rambling; the optimizer's rewrites
            are never capped, as a cut-off rewrite cannot be used.
    """

    task: str = "BBH_object_counting"
    model: str = "local"
    backward_model: str | None = None
    batch_size: int = 3
    max_epochs: int = 3
    steps_per_epoch: int | None = 4
    steps: int | None = None
    seed: int = 42
    validation: bool = True
    train_size: int | None = None
    val_size: int | None = None
    test_size: int | None = None
    metric: str = "default"
    starting_prompt: str | None = None
    train_file: str | None = None
    val_file: str | None = None
    test_file: str | None = None
    input_field: str = "question"
    target_field: str = "answer"
    pattern: str | None = None
    rubric: str | None = None
    program: str | None = None
    gradient_memory: int = 0
    momentum_window: int = 0
    reply_tokens: int | None = None

    def __post_init__(self) -> None:
        for name in ("batch_size", "max_epochs"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        for name in ("steps_per_epoch", "steps", "train_size", "val_size", "test_size"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ValueError(f"{name} must be >= 0, got {value}")

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


class Program(Protocol):
    """What produces an output from an input: ``program(x)`` returns the output Variable, and
    ``program.parameters()`` lists the variables to optimize. A :class:`~wordgrad.BlackboxLLM`
    with a trainable system prompt is one; so is a :class:`~wordgrad.autograd.Module` of your
    own that calls several models, or plain Python between them."""

    def __call__(self, x: tg.Variable) -> tg.Variable: ...

    def parameters(self) -> list[tg.Variable]: ...


def _program_parameters(program: Program) -> list[tg.Variable]:
    parameters = [p for p in program.parameters() if p.requires_grad]
    if not parameters:
        raise ConfigurationError(
            f"{type(program).__name__}.parameters() lists no trainable Variable; create the "
            "variables to optimize with requires_grad=True and return them from parameters()"
        )
    roles = [p.role_description for p in parameters]
    if len(set(roles)) != len(roles):
        raise ConfigurationError(
            f"the program's variables need distinct role descriptions (they name them in the "
            f"log and in result.json); got {roles}"
        )
    return parameters


@dataclass
class _Data:
    train: list[Example]
    val: list[Example]
    test: list[Example]
    eval_fn: EvalFn
    starting_prompt: str


def _first(items: Sequence[Any], size: int | None) -> list[Example]:
    chosen = items if size is None else items[:size]
    return [(str(x), str(y)) for x, y in chosen]


def _own(examples: Sequence[Any], size: int | None) -> list[Example]:
    chosen = examples if size is None else examples[:size]
    return [(e.input, e.target, e) for e in chosen]


class PromptOptimization(RunLoop):
    """The training loop; :func:`optimize_prompt` is the short way to run it.

    Takes the options of :class:`~wordgrad.train.loop.RunLoop`.
    """

    kind = "prompt"

    def __init__(
        self,
        config: PromptOptimizationConfig,
        run_dir: str | os.PathLike[str],
        *,
        task: Task | None = None,
        program: Program | None = None,
        **options: Any,
    ) -> None:
        if task is not None:  # one's own task in code: the config records what identifies it
            config = dataclasses.replace(
                config,
                task=task.name,
                metric=config.metric if config.metric != "default" else task.metric.name,
            )
        if program is not None:
            parameters = _program_parameters(program)
            config = dataclasses.replace(
                config,
                program=f"{type(program).__module__}:{type(program).__qualname__}",
                starting_prompt=None,
            )
            self.starting_values = [p.text for p in parameters]
        super().__init__(config, run_dir, **options)
        self.config = config
        self.task = task
        self.program = program
        self._loaded: _Data | None = None

    def own_task(self) -> Task | None:
        """One's own task: given in code, read from files, or registered by name."""
        c = self.config
        if self.task is not None:
            return self.task
        if c.train_file is not None:
            return make_task(
                c.train_file,
                c.val_file,
                c.test_file,
                input_field=c.input_field,
                target_field=c.target_field,
                metric="exact" if c.metric == "default" else c.metric,
                prompt=c.starting_prompt or "",
                pattern=c.pattern,
                rubric=c.rubric,
                name=c.task,
            )
        return get_registered_task(c.task)

    def _data(self, judge_engine: EngineLM) -> _Data:
        """The splits, scorer and starting prompt (read once per loop)."""
        if self._loaded is None:
            self._loaded = self._read_data(judge_engine)
        return self._loaded

    def _read_data(self, judge_engine: EngineLM) -> _Data:
        c = self.config
        own = self.own_task()
        if own is not None:
            metric: Metric = own.metric
            if isinstance(metric, LLMJudge) and metric.engine is None:
                metric = metric.with_engine(judge_engine)
            starting = c.starting_prompt or own.prompt
            if not starting and self.program is None:
                raise ConfigurationError(
                    f"task {own.name!r} has no starting prompt; give one with --prompt "
                    "(or starting_prompt=...)"
                )
            if not own.train:
                raise ConfigurationError(f"task {own.name!r} has no training examples")
            return _Data(
                _own(own.train, c.train_size),
                _own(own.val, c.val_size),
                _own(own.test, c.test_size),
                metric,
                starting,
            )
        if c.metric not in ("default", "exact", "llm"):
            raise ConfigurationError(
                f"metric {c.metric!r} is for one's own data (--train FILE); benchmark tasks "
                "take default, exact or llm"
            )
        train, val, test, eval_fn = load_task(
            c.task,
            evaluation_api=judge_engine,
            metric=c.metric,  # type: ignore[arg-type]
            data_dir=self.data_dir,
        )
        describe = getattr(train, "get_task_description", None)
        starting = c.starting_prompt or (describe() if describe else "")
        if not starting and self.program is None:
            raise ValueError(f"task {c.task!r} has no default prompt; give starting_prompt")
        return _Data(
            _first(train, c.train_size),
            _first(val, c.val_size),
            _first(test, c.test_size),
            eval_fn,
            starting,
        )

    def execute(self, run: Run) -> dict[str, Any]:
        c = self.config
        forward, backward = self.engines()
        data = self._data(backward)
        model: Program
        if self.program is not None:
            model = self.program
            parameters = _program_parameters(model)
            for parameter, value in zip(parameters, self.starting_values):
                parameter.set_value(value)  # a program reused after a run starts as it was
        else:
            prompt = tg.Variable(
                data.starting_prompt, requires_grad=True, role_description=PROMPT_ROLE
            )
            model = tg.BlackboxLLM(forward, prompt)
            parameters = [prompt]
        optimizer = tg.TGD(
            parameters,
            engine=self.optimizer_engine(backward),
            gradient_memory=c.gradient_memory,
            momentum_window=c.momentum_window,
            on_parse_error="record",
        )
        state = _LoopState.start(c.seed)
        if run.checkpoint is None:
            state.val_initial = self.evaluate_split(run, model, data, "val", "initial", 0)
            state.val_current = list(state.val_initial)
            state.test_initial = self.evaluate_split(run, model, data, "test", "initial", 0)
            run.commit(0, state.to_json(parameters, optimizer))
        else:
            state = _LoopState.from_json(run.checkpoint, parameters, optimizer, c, len(data.train))

        trainer = _Trainer(self, run, model, parameters, optimizer, data, backward)
        while (batch := state.next_batch(c, len(data.train))) is not None:
            run.check_budget(state.step)
            trainer.step(state, batch)
            run.commit(state.step, state.to_json(parameters, optimizer))

        return self._finish(run, model, parameters, data, state)

    def evaluate_split(
        self, run: Run, model: Program, data: _Data, split: str, label: str, step: int
    ) -> list[float]:
        """Score ``model`` on a split; records an ``evaluation`` event; [] for an empty split."""
        examples = {"train": data.train, "val": data.val, "test": data.test}[split]
        if not examples:
            return []
        predictions: list[str] = []
        scores = evaluate(
            model,
            examples,
            data.eval_fn,
            reporter=self.reporter,
            description=f"{split} ({label})",
            predictions=predictions,
        )
        summary = accuracy_summary(scores)
        run.emit(
            "evaluation",
            step,
            split=split,
            label=label,
            scores=scores,
            predictions=predictions,
            **summary,
        )
        return scores

    def saved_variables(self, results: Mapping[str, Any]) -> dict[str, dict[str, str]]:
        if self.program is None:
            return {SYSTEM_PROMPT: {"value": str(results["final_prompt"]), "role": PROMPT_ROLE}}
        return {
            role: {"value": str(value), "role": role}
            for role, value in results["final_values"].items()
        }

    def projection(self) -> Projection | None:
        """Calls and tokens the run is expected to send, from the split sizes and settings."""
        c = self.config
        data = self._data(self.engines()[1])
        n_train, n_val, n_test = len(data.train), len(data.val), len(data.test)
        batches = math.ceil(n_train / c.batch_size) if n_train else 0
        per_epoch = batches if c.steps_per_epoch is None else min(batches, c.steps_per_epoch)
        steps = per_epoch * c.max_epochs
        if c.steps is not None:
            steps = min(steps, c.steps)
        judged = (
            1
            if getattr(data.eval_fn, "uses_llm", False)
            or not isinstance(data.eval_fn, (Metric, tg.autograd.StringBasedFunction))
            else 0
        )
        examples = [e for split in (data.train, data.val, data.test) for e in split]
        mean_input = sum(len(e[0]) for e in examples) / max(1, len(examples)) / 4
        prompt_tokens = len(data.starting_prompt) / 4
        reply = float(c.reply_tokens or 300)
        evaluated = n_val + n_test + steps * n_val * int(c.validation) + n_test
        answer_tokens = prompt_tokens + mean_input
        judge_tokens = 150 + mean_input + reply
        return {
            "forward": _row(steps * c.batch_size, answer_tokens, reply),
            "evaluation": _row(
                evaluated * (1 + judged), answer_tokens + judged * judge_tokens, reply
            ),
            "backward": _row(2 * steps * c.batch_size, 700 + answer_tokens + 2 * reply, reply),
            "optimizer": _row(
                steps, 600 + prompt_tokens + c.batch_size * reply, prompt_tokens * 1.5
            ),
        }

    def _finish(
        self,
        run: Run,
        model: Program,
        parameters: list[tg.Variable],
        data: _Data,
        state: _LoopState,
    ) -> dict[str, Any]:
        c = self.config
        if not c.validation:  # the current prompt was never scored on validation
            state.val_current = self.evaluate_split(run, model, data, "val", "final", 0)
        test_final = self.evaluate_split(run, model, data, "test", "final", 0)
        results: dict[str, Any] = {
            "kind": self.kind,
            "task": c.task,
            "steps": state.step,
            "initial_prompt": data.starting_prompt
            if self.program is None
            else self.starting_values[0],
            "final_prompt": parameters[0].text,
            "final_values": {p.role_description: p.text for p in parameters},
            "val": paired_summary(state.val_initial, state.val_current, name="validation"),
            "comparisons": ["val"],
        }
        if data.test:
            results["test"] = paired_summary(state.test_initial, test_final, name="test")
            results["comparisons"].append("test")
        return run.finish(results)


@dataclass
class _LoopState:
    """Where the loop is; everything in it goes into each checkpoint."""

    rng: random.Random
    step: int = 0
    epoch: int = 0
    batch_in_epoch: int = 0
    epoch_rng_state: Any = None
    batches: list[list[int]] | None = None
    val_initial: list[float] = dataclasses.field(default_factory=list)
    val_current: list[float] = dataclasses.field(default_factory=list)
    test_initial: list[float] = dataclasses.field(default_factory=list)

    @classmethod
    def start(cls, seed: int) -> _LoopState:
        return cls(rng=random.Random(seed))

    def next_batch(self, c: PromptOptimizationConfig, train_size: int) -> list[int] | None:
        """The training indices of the next step, or None when the run is done."""
        while c.steps is None or self.step < c.steps:
            if self.epoch >= c.max_epochs or train_size == 0:
                return None
            if self.batches is None:
                self.epoch_rng_state = self.rng.getstate()
                self.batches = _epoch_batches(self.rng, c, train_size)
            limit = len(self.batches)
            if c.steps_per_epoch is not None:
                limit = min(limit, c.steps_per_epoch)
            if self.batch_in_epoch < limit:
                return self.batches[self.batch_in_epoch]
            self.epoch, self.batch_in_epoch, self.batches = self.epoch + 1, 0, None
        return None

    def to_json(self, parameters: list[tg.Variable], optimizer: tg.TGD) -> dict[str, Any]:
        # The shuffling RNG is not stored: it is Random(seed) after one shuffle per epoch begun
        # before this one, which from_json replays (a few hundred bytes instead of 8 KB).
        return {
            "prompt": parameters[0].text,
            "values": [p.text for p in parameters],
            "optimizer": optimizer.state_dict(),
            "epoch": self.epoch,
            "batch_in_epoch": self.batch_in_epoch,
            "shuffles": self.epoch,
            "epoch_started": self.batches is not None,
            "val_initial": self.val_initial,
            "val_current": self.val_current,
            "test_initial": self.test_initial,
        }

    @classmethod
    def from_json(
        cls,
        saved: Mapping[str, Any],
        parameters: list[tg.Variable],
        optimizer: tg.TGD,
        config: PromptOptimizationConfig,
        train_size: int,
    ) -> _LoopState:
        """The state saved by :meth:`to_json`; also restores the variables and the optimizer."""
        for parameter, value in zip(parameters, saved.get("values") or [saved["prompt"]]):
            parameter.set_value(value)
        optimizer.load_state_dict(saved["optimizer"])
        if "epoch_rng_state" in saved:  # checkpoints of earlier versions kept the whole state
            version, internal, gauss = saved["epoch_rng_state"]
            rng = random.Random()
            rng.setstate((version, tuple(internal), gauss))
        else:
            rng = random.Random(config.seed)
            for _ in range(int(saved["shuffles"])):
                _epoch_batches(rng, config, train_size)
        state = cls(
            rng=rng,
            step=int(saved["step"]),
            epoch=int(saved["epoch"]),
            batch_in_epoch=int(saved["batch_in_epoch"]),
            val_initial=list(saved["val_initial"]),
            val_current=list(saved["val_current"]),
            test_initial=list(saved["test_initial"]),
        )
        if saved["epoch_started"]:  # draw the epoch's order again from the state it began with
            state.epoch_rng_state = rng.getstate()
            state.batches = _epoch_batches(rng, config, train_size)
        return state


def _epoch_batches(
    rng: random.Random, config: PromptOptimizationConfig, train_size: int
) -> list[list[int]]:
    """One epoch's minibatches of training indices, shuffled by ``rng`` (which advances)."""
    return list(DataLoader(list(range(train_size)), config.batch_size, True, rng))


class _Trainer:
    """One training step: forward, loss, backward, update, validation (and revert)."""

    def __init__(
        self,
        loop: PromptOptimization,
        run: Run,
        model: Program,
        parameters: list[tg.Variable],
        optimizer: tg.TGD,
        data: _Data,
        backward_engine: EngineLM,
    ) -> None:
        self.loop, self.run, self.model, self.parameters = loop, run, model, parameters
        self.optimizer, self.data, self.backward_engine = optimizer, data, backward_engine

    def step(self, state: _LoopState, indices: list[int]) -> None:
        """Step ``state.step + 1`` on the training examples at ``indices``; updates ``state``.

        All variables are updated together and kept or reverted together (validation scores
        the program as a whole); each gets its own ``step`` event.
        """
        step = state.step + 1
        with self.loop.reporter.task(f"step {step} (answer, feedback, update)", 3) as advance:
            old_values, feedback, parse_errors = self._update(step, state.epoch, indices, advance)
        new_values = [p.text for p in self.parameters]
        decision, val_before, val_after = "unchanged", _mean(state.val_current), None
        if new_values != old_values:
            decision = "kept"
            if self.loop.config.validation and self.data.val:
                scores_after = self.loop.evaluate_split(
                    self.run, self.model, self.data, "val", f"step {step}", step
                )
                val_after = _mean(scores_after)
                if val_before is not None and val_after is not None and val_after < val_before:
                    for parameter, old in zip(self.parameters, old_values):
                        parameter.set_value(old)
                    decision = "reverted"
                else:
                    state.val_current = scores_after
        for parameter, old, new in zip(self.parameters, old_values, new_values):
            self.run.emit(
                "step",
                step,
                epoch=state.epoch,
                parameter=parameter.role_description,
                old_value=old,
                new_value=new,
                feedback=feedback[parameter.role_description],
                decision=decision if old != new or decision == "reverted" else "unchanged",
                val_before=val_before,
                val_after=val_after,
                parse_errors=parse_errors,
            )
        shown = "" if val_after is None else f", validation {val_before:.3f} -> {val_after:.3f}"
        self.loop.reporter.message(f"step {step}: update {decision}{shown}")
        state.step, state.batch_in_epoch = step, state.batch_in_epoch + 1

    def _update(
        self, step: int, epoch: int, indices: list[int], advance: Advance
    ) -> tuple[list[str], dict[str, list[str]], list[str]]:
        """Forward, loss, backward and the optimizer's update; returns the values it replaced,
        the feedback each variable received, and the optimizer's parse errors."""
        self.optimizer.zero_grad()
        predictions, losses = [], []
        examples = [self.data.train[i] for i in indices]
        for example in examples:
            x = question_variable(example[0])
            prediction = self.model(x)
            predictions.append(prediction)
            own = example[2] if len(example) > 2 else None
            losses.append(judge(self.data.eval_fn, x, answer_variable(example[1]), prediction, own))
        scores = [score_of(self.data.eval_fn, loss) for loss in losses]
        self.run.emit(
            "forward",
            step,
            epoch=epoch,
            indices=indices,
            inputs=[e[0] for e in examples],
            targets=[e[1] for e in examples],
            predictions=[p.text for p in predictions],
            scores=scores,
        )
        self.run.emit("loss", step, values=[loss.text for loss in losses])
        advance()
        total = tg.sum(losses)
        self.run.write_graph(step, total.to_dot())
        total.backward(self.backward_engine)
        feedback = {p.role_description: [g.text for g in p.gradients] for p in self.parameters}
        self.run.emit(
            "backward",
            step,
            feedback=[
                {"parameter": role, "text": text}
                for role, texts in feedback.items()
                for text in texts
            ],
        )
        advance()
        old_values = [p.text for p in self.parameters]
        errors_before = len(self.optimizer.parse_errors)
        self.optimizer.step()
        advance()
        return old_values, feedback, [str(e) for e in self.optimizer.parse_errors[errors_before:]]


def _mean(scores: Sequence[float]) -> float | None:
    return sum(scores) / len(scores) if scores else None


def optimize_prompt(
    config: PromptOptimizationConfig | None = None,
    run_dir: str | os.PathLike[str] = "runs/prompt",
    **options: Any,
) -> dict[str, Any]:
    """Run (or continue) a prompt optimization; see :class:`PromptOptimization` for options."""
    return PromptOptimization(config or PromptOptimizationConfig(), run_dir, **options).run()


def _row(calls: float, prompt_tokens: float, completion_tokens: float) -> dict[str, float]:
    return {
        "calls": calls,
        "prompt_tokens": calls * prompt_tokens,
        "completion_tokens": calls * completion_tokens,
    }
