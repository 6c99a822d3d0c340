"""Image tasks: MathVista and ScienceQA, loaded as upstream's ``load_multimodal_instance_task``.

::

    questions = tg.tasks.multimodal.load_multimodal_instance_task("mathvista", engine)
    image, query, answer, data, objective, score = questions[0]

Needs the ``multimodal`` extra (``pyarrow`` for the Parquet files, Pillow to shrink large
images): ``pip install 'wordgrad[multimodal]'``.
"""

from __future__ import annotations

from typing import Any

from wordgrad.engine.base import EngineLM
from wordgrad.tasks.dataset import Dataset

TASKS = ("mathvista", "scienceqa")


def load_multimodal_instance_task(
    task_name: str, evaluation_api: EngineLM | str | None = None, *args: Any, **kwargs: Any
) -> Dataset[tuple[Any, ...]]:
    """The test questions of ``"mathvista"`` (split ``testmini``) or ``"scienceqa"`` (``test``).

    Extra arguments go to :class:`~wordgrad.tasks.multimodal.mathvista.MathVistaDataset` or
    :class:`~wordgrad.tasks.multimodal.scienceqa.ScienceQADataset` (``root``, ``max_samples``,
    ``task_instruction``, ``evaluation_instruction``).

    Raises:
        ValueError: an unknown task name.
        DataError: the data is missing and cannot be downloaded, or is corrupt.
    """
    if task_name == "mathvista":
        from wordgrad.tasks.multimodal.mathvista import MathVistaDataset

        kwargs.setdefault("split", "testmini")
        return MathVistaDataset(evaluation_api, *args, **kwargs)
    if task_name == "scienceqa":
        from wordgrad.tasks.multimodal.scienceqa import ScienceQADataset

        kwargs.setdefault("split", "test")
        return ScienceQADataset(evaluation_api, *args, **kwargs)
    raise ValueError(f"unknown image task {task_name!r}; known: {', '.join(TASKS)}")


__all__ = ["TASKS", "EngineLM", "load_multimodal_instance_task"]
