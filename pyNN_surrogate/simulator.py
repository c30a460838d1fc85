"""
Simulator state for the pyNN_surrogate backend.

The :class:`State` holds the clock, the time step, the delay bounds, the device and the seed, and
owns the :class:`~pyNN_surrogate.engine.Engine` that does the numerical work. It is PyNN's one
global ``state`` object; nothing else in the backend is a mutable singleton.
"""

import os

from pyNN import common, errors

name = "pyNN_surrogate"
DEVICE_ENVIRONMENT_VARIABLE = "PYNN_SURROGATE_DEVICE"
DEFAULT_SEED = 1234567


class NotSetUpError(RuntimeError):
    """Raised when the simulator is used before ``setup()``."""


class ID(int, common.IDMixin):
    """A cell identifier: an int that knows its parent population."""

    def __init__(self, n):
        int.__init__(n)
        common.IDMixin.__init__(self)


def choose_device(requested=None):
    """
    Pick the torch device for a simulation.

    Parameters
    ----------
    requested : str or None
        ``setup(device=...)``. If None, the ``PYNN_SURROGATE_DEVICE`` environment variable is
        used, else CUDA when available, else CPU.

    Returns
    -------
    torch.device
    """
    import torch

    requested = requested or os.environ.get(DEVICE_ENVIRONMENT_VARIABLE) or None
    if requested is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(requested)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise errors.InvalidParameterValueError(
            f"device '{requested}' was requested but CUDA is not available on this machine")
    return device


class State(common.control.BaseState):
    """The clock, the settings of ``setup()`` and the engine of the current simulation."""

    def __init__(self):
        super().__init__()
        self.mpi_rank = 0
        self.num_processes = 1
        self.dt = common.control.DEFAULT_TIMESTEP
        self.min_delay = common.control.DEFAULT_MIN_DELAY
        self.max_delay = common.control.DEFAULT_MAX_DELAY
        self.device = None
        self.seed = DEFAULT_SEED
        self.engine = None
        self.record_sample_times = False
        self.train_missing = None
        self.clear()

    def require_setup(self, action):
        """Raise a clear error when `action` is attempted before ``setup()``."""
        if self.engine is None:
            raise NotSetUpError(f"pyNN_surrogate: setup() must be called before {action}")

    def configure(self, timestep, min_delay, max_delay, device, seed, train_missing=None):
        """Start a new simulation: a fresh engine and a clock at zero."""
        from .engine import Engine

        self.clear()
        self.dt = float(timestep)
        self.min_delay = min_delay
        self.max_delay = max_delay
        self.device = choose_device(device)
        self.seed = DEFAULT_SEED if seed is None else int(seed)
        self.train_missing = train_missing
        engine_min_delay = self.dt if min_delay == "auto" else float(min_delay)
        engine_max_delay = engine_min_delay if max_delay == "auto" else float(max_delay)
        self.engine = Engine(dt=self.dt, min_delay=engine_min_delay, max_delay=engine_max_delay,
                             device=self.device, seed=self.seed)

    def load_package(self, celltype_name):
        """The trained surrogate package of `celltype_name`, loaded once per simulation."""
        from .celltype_loading import load_surrogate_package

        if celltype_name not in self._packages:
            self._packages[celltype_name] = load_surrogate_package(celltype_name)
        return self._packages[celltype_name]

    def package_for(self, celltype_name, parameters):
        """The package covering `parameters` (shipped, or on demand: see ``train_missing``)."""
        from .celltype_loading import package_for_parameters

        return package_for_parameters(celltype_name, parameters, self.load_package,
                                      self.train_missing)

    def runtime_for(self, package):
        """The surrogate runtime of `package` on this simulation's device (built once)."""
        if package.key not in self._runtimes:
            self._runtimes[package.key] = package.runtime(self.device)
        return self._runtimes[package.key]

    def run(self, simtime):
        self.run_until(self.t + simtime)

    def run_until(self, tstop):
        self.require_setup("run()")
        from .engine import TimeStepError

        try:
            self.engine.run_until(tstop)
        except TimeStepError as error:
            raise ValueError(
                f"pyNN_surrogate advances in steps of {self.engine.quantum:g} ms (the native "
                f"step of the surrogate cells); run() durations must be multiples of it, "
                f"got t = {tstop:g} ms") from error
        self.t = tstop
        self.running = True

    def clear(self):
        self.recorders = set()
        self.id_counter = 0
        self.segment_counter = -1
        self.current_sources = []
        self.engine = None
        self._packages = {}
        self._runtimes = {}
        self.reset()

    def reset(self):
        """Reset the network to t = 0 and start a new segment of recorded data."""
        self.running = False
        self.t = 0.0
        self.t_start = 0.0
        self.segment_counter += 1
        if self.engine is not None:
            self.engine.reset()


state = State()
