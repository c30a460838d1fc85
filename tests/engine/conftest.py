"""Engine test configuration.

The engine tests run on one intra-op thread: on the shared 2-core machine MKL's
sparse kernels with 2 OpenMP threads are ~100x slower than with one.
"""

import os
import sys

import pytest
import torch

sys.path.insert(0, os.path.dirname(__file__))


@pytest.fixture(autouse=True)
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
