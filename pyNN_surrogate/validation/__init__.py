"""
Validation of pyNN_surrogate against a reference PyNN backend (pyNN.neuron by default).

``python -m pyNN_surrogate.validate SCRIPT [args]`` runs an unmodified PyNN script on both
backends, each in its own subprocess (:mod:`pyNN_surrogate.validation.runner` collects what the
script records), compares the recordings (:mod:`~pyNN_surrogate.validation.metrics`,
:mod:`~pyNN_surrogate.validation.compare`) against tolerances
(:mod:`~pyNN_surrogate.validation.tolerances`) and writes an HTML report with a
machine-readable ``metrics.json`` (:mod:`~pyNN_surrogate.validation.report`).

``python -m pyNN_surrogate.validate --cell CellType`` runs single-cell protocols (f-I curve,
step currents, free-running divergence against simulated time), see
:mod:`~pyNN_surrogate.validation.cell_protocols`.

Importing this package imports nothing heavy (no PyNN, NEURON, torch or matplotlib).
"""

REFERENCE_COLOUR = "#1f4e79"    # dark blue: reference backend in every figure
CANDIDATE_COLOUR = "#e66101"    # orange: candidate backend in every figure

EXIT_PASS = 0
EXIT_FAIL = 1
EXIT_ERROR = 2
