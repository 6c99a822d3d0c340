"""Importing wordgrad never needs RDKit or Vina; using them without the extra names the extra."""

from __future__ import annotations

import subprocess
import sys
import textwrap

# Run in a fresh interpreter in which the science libraries cannot be imported.
BLOCKER = textwrap.dedent(
    """
    import importlib.abc, sys
    BLOCKED = {"rdkit", "vina", "meeko", "dockstring", "dimorphite_dl", "gemmi"}
    class Block(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ImportError(f"No module named {name!r} (blocked by the test)")
            return None
    sys.meta_path.insert(0, Block())
    """
)


def run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", BLOCKER + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_import_wordgrad_needs_no_science_library() -> None:
    done = run(
        """
        import wordgrad, wordgrad.cli, wordgrad.report
        import wordgrad.science.molecules, wordgrad.science.docking, wordgrad.science.objective
        import wordgrad.train.molecule_optimization, wordgrad.report.molecules
        loaded = sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED)
        print("loaded:", loaded)
        """
    )
    assert done.returncode == 0, done.stderr
    assert "loaded: []" in done.stdout


def test_missing_extras_are_named() -> None:
    done = run(
        """
        from wordgrad.errors import ConfigurationError
        from wordgrad.science.molecules import qed
        from wordgrad.science.docking import dock
        from wordgrad.train.molecule_optimization import (
            MoleculeOptimization, MoleculeOptimizationConfig)
        for call in (lambda: qed("CCO"), lambda: dock("CCO", "DRD2"),
                     lambda: MoleculeOptimization(MoleculeOptimizationConfig(), "/tmp/none")):
            try:
                call()
            except ConfigurationError as error:
                print("error:", error)
        """
    )
    assert done.returncode == 0, done.stderr
    errors = [line for line in done.stdout.splitlines() if line.startswith("error:")]
    assert len(errors) == 3
    assert "pip install 'wordgrad[chem]'" in errors[0]
    assert "pip install 'wordgrad[docking]'" in errors[1]
    assert "pip install 'wordgrad[docking]'" in errors[2]


def test_the_molecule_objective_reports_a_missing_library_as_feedback() -> None:
    done = run(
        """
        from wordgrad.science.objective import measure_molecule, molecule_data
        from wordgrad.train.objective import Instance
        score = measure_molecule(Instance("x", "CCO", "molecule", data=molecule_data("DRD2")), "CCO")
        print(score.value, "|", score.feedback)
        """
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("0.0 | ") and "wordgrad[chem]" in done.stdout
