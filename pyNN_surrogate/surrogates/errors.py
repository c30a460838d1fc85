"""Exceptions of the surrogate layer (plain Python; the backend maps them to pyNN.errors)."""


class SurrogateError(Exception):
    """Base class of every surrogate-layer error."""


class CellTypeFileError(SurrogateError):
    """A cell-type package file is missing, unreadable, corrupt or fails its checksum."""


class UnknownCellTypeError(SurrogateError, LookupError):
    """No cell-type package of that name exists on the search path."""


class OutOfDomainError(SurrogateError, ValueError):
    """A cell parameter lies outside the domain a surrogate was trained on.

    Parameters
    ----------
    parameter : str
        PyNN parameter name.
    value : float
        The offending value (the first one found).
    domain : str
        Human-readable description of the trained domain.
    train_command : str
        Command that would train a surrogate covering this parameter.
    """

    def __init__(self, parameter, value, domain, train_command):
        self.parameter = parameter
        self.value = value
        self.domain = domain
        self.train_command = train_command
        super().__init__(
            f"parameter {parameter!r} = {value!r} is outside the domain the surrogate was "
            f"trained on ({domain}); train a surrogate for it with: {train_command}")
