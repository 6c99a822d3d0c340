"""Science applications of textual optimization: the domain code each one measures with.

Subpackages wrap the field's own libraries (they are optional extras and are imported only
when used, so importing :mod:`wordgrad.science` costs nothing):

- :mod:`wordgrad.science.radiotherapy`: treatment-plan objective weights, with dose
  calculation and fluence optimization by pyRadPlan (``pip install 'wordgrad[radiotherapy]'``).
"""
