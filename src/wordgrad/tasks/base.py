"""Upstream's ``textgrad.tasks.base``: :class:`Dataset` and :class:`DataLoader`."""

from wordgrad.tasks.dataset import DataLoader, Dataset

__all__ = ["DataLoader", "Dataset"]
