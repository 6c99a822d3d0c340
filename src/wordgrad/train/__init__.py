"""Training and test-time loops, the runs they write, and the statistics that go with them.

- :func:`optimize_prompt` / :class:`PromptOptimization`: the paper's prompt optimization
  (minibatches, epochs, validation that reverts worse updates, test evaluation at the end).
- :func:`optimize_solutions` / :class:`SolutionOptimization`: test-time answer optimization
  with a majority vote over the iterations.
- :func:`optimize_value` (one value) and :func:`optimize_instances` /
  :class:`InstanceOptimization` (many, in a run): test-time optimization of any text against a
  measure returning a :class:`Score` (:mod:`wordgrad.train.objective`).
- :func:`load_result` / :func:`save_result`: a run's optimized values in ``result.json``,
  loaded back in one call.
- :class:`Run`, :func:`read_events`: run directories (config, event log, checkpoints,
  results) that resume exactly after a crash; the log's schema is in :mod:`wordgrad.train.events`.
- :func:`bootstrap_ci`, :func:`compare_paired`: intervals and paired tests.
"""

from wordgrad.train.events import read_events
from wordgrad.train.instance_optimization import (
    InstanceOptimization,
    InstanceOptimizationConfig,
    optimize_instances,
)
from wordgrad.train.objective import Instance, Score, Trajectory, as_score, optimize_value
from wordgrad.train.prompt_optimization import (
    PromptOptimization,
    PromptOptimizationConfig,
    optimize_prompt,
)
from wordgrad.train.results import Result, load_result, save_result
from wordgrad.train.runs import Budget, Run, RunConfigError, RunStopped
from wordgrad.train.solution_optimization import (
    SolutionOptimization,
    SolutionOptimizationConfig,
    optimize_solutions,
)
from wordgrad.train.stats import bootstrap_ci, compare_paired

__all__ = [
    "Budget",
    "Instance",
    "InstanceOptimization",
    "InstanceOptimizationConfig",
    "PromptOptimization",
    "PromptOptimizationConfig",
    "Result",
    "Run",
    "RunConfigError",
    "RunStopped",
    "Score",
    "SolutionOptimization",
    "SolutionOptimizationConfig",
    "Trajectory",
    "as_score",
    "bootstrap_ci",
    "compare_paired",
    "load_result",
    "optimize_instances",
    "optimize_prompt",
    "optimize_solutions",
    "optimize_value",
    "read_events",
    "save_result",
]
