"""Ground truth generation (pyNN.neuron), training loop and evaluation of surrogates.

This subpackage may import pyNN.neuron and NEURON, but only inside functions, so that
importing it stays cheap and free of side effects.
"""
