"""
Tolerances: which metric values pass.

The defaults ship as ``default_tolerances.json`` in this package. A user file (``--tolerances
FILE``, JSON) has the same layout and needs only the entries it changes::

    {
      "metrics": {"spike_f1_2ms": {"threshold": 0.5}},
      "groups": {"exc": {"rate_rel_error": {"threshold": 0.3}},
                 "*":   {"v_rmse": {"threshold": null}}}
    }

Each metric has ``op`` (``"<="`` or ``">="``) and ``threshold``; a null threshold makes it
informational. A NaN value (e.g. a CV of silent cells) is "n/a": shown, not failing.
"""

import copy
import json
import math
from pathlib import Path

DEFAULT_FILE = Path(__file__).with_name("default_tolerances.json")
OPERATORS = ("<=", ">=")

STATUS_PASS = "pass"
STATUS_FAIL = "fail"
STATUS_INFO = "info"
STATUS_NA = "n/a"


class ToleranceFileError(ValueError):
    """A tolerance file cannot be read or has an invalid entry."""


def _check_entry(name, entry, source):
    if not isinstance(entry, dict):
        raise ToleranceFileError(f"{source}: entry for {name!r} must be an object, got {entry!r}")
    if "op" in entry and entry["op"] not in OPERATORS:
        raise ToleranceFileError(f"{source}: {name!r} has op {entry['op']!r}; "
                                 f"expected one of {OPERATORS}")
    threshold = entry.get("threshold")
    if threshold is not None and not isinstance(threshold, (int, float)):
        raise ToleranceFileError(f"{source}: {name!r} threshold must be a number or null, "
                                 f"got {threshold!r}")


def _merge(base, update, source):
    for name, entry in update.items():
        _check_entry(name, entry, source)
        merged = dict(base.get(name, {"op": ">=", "threshold": None, "description": ""}))
        merged.update(entry)
        base[name] = merged


class Tolerances:
    """Default tolerances, optionally overridden by a user file.

    Parameters
    ----------
    path : path-like, optional
        JSON file of overrides (see the module docstring).

    Raises
    ------
    ToleranceFileError
        If the file cannot be parsed or an entry is malformed.
    """

    def __init__(self, path=None):
        defaults = json.loads(DEFAULT_FILE.read_text())
        self.metrics = copy.deepcopy(defaults["metrics"])
        self.groups = {}
        self.source = str(DEFAULT_FILE)
        if path is not None:
            path = Path(path)
            try:
                user = json.loads(path.read_text())
            except (OSError, json.JSONDecodeError) as err:
                raise ToleranceFileError(f"cannot read tolerance file {path}: {err}") from err
            if not isinstance(user, dict):
                raise ToleranceFileError(f"{path}: top level must be a JSON object")
            unknown = set(user) - {"metrics", "groups", "description"}
            if unknown:
                raise ToleranceFileError(f"{path}: unknown top-level keys {sorted(unknown)}; "
                                         "expected 'metrics' and/or 'groups'")
            _merge(self.metrics, user.get("metrics", {}), path)
            for group, entries in user.get("groups", {}).items():
                self.groups[group] = {}
                for name, entry in entries.items():
                    _check_entry(name, entry, path)
                    self.groups[group][name] = entry
            self.source = f"{DEFAULT_FILE} + {path}"

    def entry(self, metric, group=None):
        """The effective ``{"op", "threshold", "description"}`` of a metric for a group."""
        entry = dict(self.metrics.get(metric, {"op": ">=", "threshold": None,
                                               "description": ""}))
        for key in ("*", group):
            if key is not None and metric in self.groups.get(key, {}):
                entry.update(self.groups[key][metric])
        return entry

    def check(self, metric, value, group=None, applicable=True):
        """Evaluate one metric value.

        Parameters
        ----------
        metric : str
        value : float or None
        group : str, optional
            Population/assembly key (for per-group overrides).
        applicable : bool
            False turns the check informational (e.g. per-cell agreement without identical
            inputs).

        Returns
        -------
        dict
            ``group``, ``metric``, ``value``, ``op``, ``threshold``, ``status`` (``"pass"``,
            ``"fail"``, ``"info"`` or ``"n/a"``), ``description``.
        """
        entry = self.entry(metric, group)
        threshold = entry.get("threshold")
        op = entry.get("op", ">=")
        if value is None or (isinstance(value, float) and math.isnan(value)):
            status = STATUS_NA
            value = None
        elif threshold is None or not applicable:
            status = STATUS_INFO
        elif op == "<=":
            status = STATUS_PASS if value <= threshold else STATUS_FAIL
        else:
            status = STATUS_PASS if value >= threshold else STATUS_FAIL
        return dict(group=group, metric=metric, value=None if value is None else float(value),
                    op=op, threshold=threshold, status=status,
                    description=entry.get("description", ""))

    def as_dict(self):
        """The effective tolerances (for metrics.json)."""
        return {"source": self.source, "metrics": self.metrics, "groups": self.groups}


def overall_passed(checks):
    """True when no check failed."""
    return not any(c["status"] == STATUS_FAIL for c in checks)
