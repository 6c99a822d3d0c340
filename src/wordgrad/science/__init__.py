"""Science applications of textual optimization: the domain code each one measures with.

Each wraps the field's own libraries (optional extras, imported only when a function that needs
them is called, so importing :mod:`wordgrad.science` costs nothing):

- :mod:`wordgrad.science.molecules`: parsing, canonical SMILES, QED, Lipinski-style descriptors
  and drawings, all by RDKit (``pip install 'wordgrad[chem]'``).
- :mod:`wordgrad.science.docking`: Vina docking scores against DOCKSTRING's targets, in a worker
  process with a time limit, cached by canonical SMILES (``pip install 'wordgrad[docking]'``).
- :mod:`wordgrad.science.radiotherapy`: treatment-plan objective weights, with dose
  calculation and fluence optimization by pyRadPlan (``pip install 'wordgrad[radiotherapy]'``).
"""
