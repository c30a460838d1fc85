"""The pyNN_surrogate engine: pure PyTorch, never imports PyNN or NEURON.

See docs/architecture.md ("Time", "Engine") for the contract.
"""

from .errors import (EngineError, EngineStateError, EngineTypeError, EngineValueError,
                     InvalidDelayError, InvalidSpikeTimesError, ShapeMismatchError,
                     TimeStepError, UnknownGroupError, UnknownReceptorError,
                     UnknownVariableError)
from .network import Engine
from .synapses import ReceptorSpec
from .tsodyks_markram import TsodyksMarkramSpec

__all__ = ["Engine", "ReceptorSpec", "TsodyksMarkramSpec", "EngineError", "EngineStateError",
           "EngineTypeError", "EngineValueError", "InvalidDelayError", "InvalidSpikeTimesError",
           "ShapeMismatchError", "TimeStepError", "UnknownGroupError", "UnknownReceptorError",
           "UnknownVariableError"]
