"""Science objectives: molecules measured by RDKit and docked by AutoDock Vina.

- :mod:`wordgrad.science.molecules`: parsing, canonical SMILES, QED, Lipinski-style descriptors
  and drawings, all by RDKit (``pip install 'wordgrad[chem]'``).
- :mod:`wordgrad.science.docking`: Vina docking scores against DOCKSTRING's targets, in a worker
  process with a time limit, cached by canonical SMILES (``pip install 'wordgrad[docking]'``).

Neither RDKit nor Vina is imported until a function that needs it is called.
"""
