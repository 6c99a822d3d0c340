"""Importing the optional science libraries on first use, with an error that names the extra."""

from __future__ import annotations

import importlib
from types import ModuleType

from wordgrad.errors import ConfigurationError

CHEM = "chem"
DOCKING = "docking"


def require(module: str, *, extra: str, package: str | None = None) -> ModuleType:
    """Import ``module``, or raise :class:`~wordgrad.errors.ConfigurationError` naming the extra.

    Args:
        module: the module to import (``"rdkit.Chem"``, ``"vina"``).
        extra: wordgrad's pip extra that installs it (``"chem"`` or ``"docking"``).
        package: the PyPI name, when it differs from the module's first part.
    """
    try:
        return importlib.import_module(module)
    except ImportError as error:
        name = package or module.split(".")[0]
        raise ConfigurationError(
            f"this needs the {name!r} package, which is not installed (or failed to import: "
            f"{error}); install it with: pip install 'wordgrad[{extra}]'"
        ) from error
