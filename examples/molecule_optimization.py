"""Optimize a molecule against the dopamine D2 receptor (DRD2) and write the run's report.

By default a scripted engine plays the chemist, so this runs offline in about a minute: its
critic repeats the measurements, and its optimizer proposes the next molecule of a fixed path
from benzene towards an arylpiperazine, the classic D2 scaffold (with one invalid SMILES on the
way, to show that a bad proposal becomes feedback instead of an error). Every molecule is
measured for real: RDKit computes QED and the descriptors, and AutoDock Vina docks it into
DOCKSTRING's DRD2 structure.

    python examples/molecule_optimization.py --run-dir runs/drd2-example
    python examples/molecule_optimization.py --model gpt-4o --iterations 10   # a real LLM

The run directory holds the trajectory (``events.jsonl``, ``results.json``) and ``report.html``
with affinity and QED over iterations and a drawing of every molecule. Needs
``pip install 'wordgrad[docking]'``.
"""

from __future__ import annotations

import argparse
import re
import sys

from wordgrad.engine import ScriptedEngine
from wordgrad.llm import Request
from wordgrad.report import write_report
from wordgrad.train.molecule_optimization import MoleculeOptimization, MoleculeOptimizationConfig

# The scripted chemist's path: each molecule leads to the next.
PATH = [
    "c1ccccc1",  # benzene, the starting fragment
    "c1ccc(cc1)N1CCNCC1",  # phenylpiperazine
    "COc1ccccc1N1CCNCC1(",  # a slip: an unclosed branch, which RDKit rejects
    "COc1ccccc1N1CCNCC1",  # 1-(2-methoxyphenyl)piperazine
    "COc1ccccc1N1CCN(Cc2ccccc2)CC1",  # with a benzyl group on the far nitrogen
    "COc1ccccc1N1CCN(CCc2ccccc2)CC1",  # a longer linker
]
DOPAMINE = "NCCc1ccc(O)c(O)c1"  # the receptor's own ligand, as a known binder to compare with


def chemist(request: Request) -> str:
    """The scripted engine: critic and feedback writer quote the score; the optimizer steps on."""
    if request.purpose == "optimizer":
        current = request.prompt.split("<VARIABLE>", 1)[1].split("</VARIABLE>", 1)[0].strip()
        step = PATH.index(current) + 1 if current in PATH else 1
        return f"<IMPROVED_VARIABLE>{PATH[min(step, len(PATH) - 1)]}</IMPROVED_VARIABLE>"
    measured = re.search(r"Vina docking score against \w+: ([^\n]+)", request.prompt)
    said = measured.group(1) if measured else "no docking score"
    return (
        f"The docking score reads {said}. Add a basic amine that can pair with the receptor's "
        "aspartate, and an aromatic ring that fills the hydrophobic pocket, while keeping QED up."
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run-dir", default="runs/molecule-example")
    parser.add_argument("--model", default=None, help="an engine name (default: scripted)")
    parser.add_argument("--iterations", type=int, default=len(PATH) - 1)
    parser.add_argument("--exhaustiveness", type=int, default=1, help="Vina's (default 1: fast)")
    parser.add_argument("--reference", action="store_true", help="also dock dopamine")
    parser.add_argument("--force", action="store_true", help="start the run over")
    args = parser.parse_args(argv)

    engine = None if args.model else ScriptedEngine(chemist, model_string="scripted-chemist")
    config = MoleculeOptimizationConfig(
        model=args.model or "scripted-chemist",
        targets=("DRD2",),
        starts=(PATH[0],),
        iterations=args.iterations,
        exhaustiveness=args.exhaustiveness,
        references=(DOPAMINE,) if args.reference else (),
    )
    loop = MoleculeOptimization(
        config, args.run_dir, forward_engine=engine, backward_engine=engine, force=args.force
    )
    results = loop.run()
    for instance in results["instances"]:
        for point in instance["trajectory"]:
            vina = point["vina_score"]
            qed = point["qed"]
            print(
                f"{point['iteration']:>2}  {point['smiles']:<36} "
                + (f"Vina {vina:6.2f} kcal/mol  " if vina is not None else "Vina    n/a        ")
                + (f"QED {qed:.3f}" if qed is not None else "QED  n/a")
            )
    print(f"report: {write_report(args.run_dir)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
