"""Docking times on this machine: worker start (receptor maps), ligands at several
exhaustiveness levels, and a cache hit.

    python -m benchmarks.docking                 # from the repository root
    python -m benchmarks.docking --target DRD2 --exhaustiveness 1 4 8 --cpu 2

Prints one line per measurement (wall seconds, Vina score in kcal/mol). Needs
``pip install 'wordgrad[docking]'``. Numbers depend on the machine and its load; nothing is
asserted.
"""

from __future__ import annotations

import argparse
import time

from wordgrad.science.docking import DockingCache, DockingSettings, dock, docking_worker

LIGANDS = {
    "aspirin": "CC(=O)Oc1ccccc1C(=O)O",
    "phenylpiperazine": "c1ccc(cc1)N1CCNCC1",
    "haloperidol": "O=C(CCCN1CCC(O)(c2ccc(Cl)cc2)CC1)c1ccc(F)cc1",
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", default="DRD2")
    parser.add_argument("--exhaustiveness", type=int, nargs="+", default=[1, 4, 8])
    parser.add_argument("--cpu", type=int, default=2)
    args = parser.parse_args(argv)
    for exhaustiveness in args.exhaustiveness:
        settings = DockingSettings(exhaustiveness=exhaustiveness, cpu=args.cpu)
        cache = DockingCache()
        worker = docking_worker(args.target, settings)
        for position, (name, smiles) in enumerate(LIGANDS.items()):
            started = time.perf_counter()
            result = dock(smiles, args.target, settings, cache=cache)
            wall = time.perf_counter() - started
            note = " (worker start and receptor maps included)" if position == 0 else ""
            print(
                f"{args.target} exhaustiveness {exhaustiveness} cpu {args.cpu} {name:<17} "
                f"score {result.score} kcal/mol  docking {result.seconds:5.1f} s  "
                f"wall {wall:5.1f} s{note}"
            )
        started = time.perf_counter()
        dock("OC(=O)c1ccccc1OC(C)=O", args.target, settings, cache=cache)  # aspirin, rewritten
        print(f"  cache hit for aspirin written differently: {time.perf_counter() - started:.4f} s")
        worker.close()


if __name__ == "__main__":
    main()
