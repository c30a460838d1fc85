"""Shared fixtures: a fresh simulator per test, and pyNN.neuron where a test compares with it."""

import warnings

import pytest
import torch

# One intra-op thread: tests run beside other work on small machines, where torch's thread
# pool spinning on a busy core costs far more than it gains on tiny batches.
torch.set_num_threads(1)


@pytest.fixture
def sim():
    """pyNN_surrogate, set up afresh on the CPU (timestep 0.1 ms), ended after the test."""
    import pyNN_surrogate

    pyNN_surrogate.setup(timestep=0.1, device="cpu", rng_seed=12345)
    yield pyNN_surrogate
    pyNN_surrogate.end()


@pytest.fixture(scope="session")
def neuron_sim():
    """pyNN.neuron, with its NMODL mechanisms compiled on first use."""
    from pyNN_surrogate.neuron_setup import compile_mechanisms

    compile_mechanisms(quiet=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pyNN.neuron
    return pyNN.neuron
