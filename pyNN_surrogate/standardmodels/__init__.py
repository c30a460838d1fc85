"""
Translations of PyNN's standard models (cells, synapses, current sources) for pyNN_surrogate.

The definitions (parameter names, defaults, units) are PyNN's own, in
``pyNN.standardmodels``; the modules here only add what the engine needs to run them.
"""
