"""Exceptions raised by the engine.

All of them subclass a builtin (``ValueError`` or ``TypeError``) so that the
PyNN-facing layer can catch them generically, and all messages name the
offending argument and value.  Every public ``Engine`` method validates its
arguments before touching any state, so a call that raises leaves the engine
unchanged.
"""


class EngineError(Exception):
    """Base class of all engine errors."""


class EngineValueError(EngineError, ValueError):
    """An argument has the right type but an invalid value."""


class EngineTypeError(EngineError, TypeError):
    """An argument has the wrong type."""


class InvalidSpikeTimesError(EngineValueError):
    """Spike times are unsorted, negative or not finite."""


class InvalidDelayError(EngineValueError):
    """A delay is negative, not finite or shorter than ``min_delay``."""


class UnknownReceptorError(EngineValueError):
    """A projection names a receptor the target group does not have."""


class UnknownVariableError(EngineValueError):
    """A recording request names a variable the group cannot record."""


class TimeStepError(EngineValueError):
    """Incompatible time steps (``native_dt`` not a multiple of ``dt``, ...)."""


class ShapeMismatchError(EngineValueError):
    """Array arguments that must have the same length do not."""


class UnknownGroupError(EngineValueError):
    """A group, projection or current-source id does not exist."""


class EngineStateError(EngineError, RuntimeError):
    """The call is not allowed in the engine's current state."""
