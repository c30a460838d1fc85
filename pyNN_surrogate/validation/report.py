"""
Reports: ``index.html`` (PNG figures next to it) and the machine-readable ``metrics.json``.

``metrics.json`` (``schema_version`` 1) holds, for a script comparison:

* ``kind``: ``"script"`` or ``"cell"``; ``passed`` (bool); ``exit_code`` (0 pass, 1 fail);
* ``reference`` / ``candidate``: backend, module, wall times (``wall_run_s``, ``wall_script_s``),
  ``t_stop_ms``, ``dt_ms``, ``stochastic_inputs``;
* ``speed_ratio`` (reference run wall time / candidate), ``identical_inputs``;
* ``tolerances``: the effective tolerances and their source files;
* ``checks``: list of ``{group, metric, value, op, threshold, status, description}`` with
  ``status`` in ``pass``, ``fail``, ``info``, ``n/a``;
* ``groups``: ``{key: {kind, label, size, celltype, n_segments, metrics: {name: value}}}``;
* ``missing_groups``: keys recorded by only one backend.
"""

import html
import json
import math
from pathlib import Path

import numpy as np

from . import CANDIDATE_COLOUR, REFERENCE_COLOUR
from .tolerances import overall_passed

SCHEMA_VERSION = 1
STATUS_COLOURS = {"pass": "#1a9641", "fail": "#d7191c", "info": "#777777", "n/a": "#aaaaaa"}

CSS = f"""
body {{ font-family: sans-serif; max-width: 1200px; margin: 1em auto; color: #222; }}
table {{ border-collapse: collapse; margin: 0.5em 0 1.5em 0; font-size: 0.9em; }}
th, td {{ border: 1px solid #ccc; padding: 3px 8px; text-align: left; }}
th {{ background: #f0f0f0; }}
td.num {{ text-align: right; font-family: monospace; }}
.status {{ font-weight: bold; color: white; padding: 2px 6px; border-radius: 3px; }}
.banner {{ font-size: 1.4em; padding: 0.4em 0.8em; color: white; border-radius: 4px; }}
.ref {{ color: {REFERENCE_COLOUR}; font-weight: bold; }}
.cand {{ color: {CANDIDATE_COLOUR}; font-weight: bold; }}
img {{ max-width: 100%; }}
pre {{ background: #f7f7f7; padding: 0.5em; overflow-x: auto; }}
"""


def json_safe(value):
    """Convert numpy scalars/arrays and NaN to JSON-safe Python values (NaN -> None)."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, np.ndarray):
        return json_safe(value.tolist())
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return None if math.isnan(value) or math.isinf(value) else value
    return value


def fmt(value, digits=3):
    """Format a metric value for a table."""
    if value is None:
        return "–"
    if isinstance(value, float):
        if math.isnan(value):
            return "–"
        return f"{value:.{digits}g}" if abs(value) >= 1e-3 or value == 0 else f"{value:.2e}"
    return html.escape(str(value))


def status_badge(status):
    colour = STATUS_COLOURS.get(status, "#777777")
    return f'<span class="status" style="background:{colour}">{html.escape(status)}</span>'


def checks_table(checks, show_group=True):
    """HTML table of checks, failures first."""
    order = {"fail": 0, "pass": 1, "info": 2, "n/a": 3}
    rows = sorted(checks, key=lambda c: (order.get(c["status"], 9), str(c.get("group")),
                                         c["metric"]))
    head = ("<tr>" + ("<th>group</th>" if show_group else "")
            + "<th>metric</th><th>value</th><th>tolerance</th><th>status</th>"
            "<th>meaning</th></tr>")
    body = []
    for c in rows:
        tolerance = "–" if c["threshold"] is None else f"{c['op']} {fmt(c['threshold'])}"
        note = f" ({html.escape(c['note'])})" if c.get("note") else ""
        body.append("<tr>" + (f"<td>{html.escape(str(c.get('group') or '(run)'))}</td>"
                               if show_group else "")
                    + f"<td>{html.escape(c['metric'])}</td><td class='num'>{fmt(c['value'])}</td>"
                    f"<td class='num'>{tolerance}</td><td>{status_badge(c['status'])}{note}</td>"
                    f"<td>{html.escape(c.get('description', ''))}</td></tr>")
    return f"<table>{head}{''.join(body)}</table>"


def key_value_table(rows):
    """HTML table of (name, reference, candidate) or (name, value) rows."""
    out = []
    for row in rows:
        out.append("<tr>" + "".join(f"<td>{fmt(v) if not isinstance(v, str) else html.escape(v)}"
                                    "</td>" for v in row) + "</tr>")
    return f"<table>{''.join(out)}</table>"


def write_html(out_dir, title, intro_html, checks, sections):
    """Write ``index.html``.

    Parameters
    ----------
    out_dir : Path
    title : str
    intro_html : str
        HTML inserted after the pass/fail banner (run information).
    checks : list of dict
        All checks; the summary table lists them, failures first.
    sections : list of (str, str)
        ``(heading, html)`` per section (figures referenced by relative file name).
    """
    passed = overall_passed(checks)
    n_fail = sum(c["status"] == "fail" for c in checks)
    n_pass = sum(c["status"] == "pass" for c in checks)
    banner_colour = STATUS_COLOURS["pass" if passed else "fail"]
    banner = (f'<div class="banner" style="background:{banner_colour}">'
              f'{"PASS" if passed else "FAIL"}: {n_pass} checks passed, {n_fail} failed</div>')
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
             f"</title><style>{CSS}</style></head><body>",
             f"<h1>{html.escape(title)}</h1>", banner, intro_html,
             "<h2>Summary</h2>", checks_table(checks)]
    for heading, body in sections:
        parts.append(f"<h2>{html.escape(heading)}</h2>{body}")
    parts.append("</body></html>")
    path = Path(out_dir) / "index.html"
    path.write_text("\n".join(parts), encoding="utf-8")
    return path


def image(filename, alt):
    return f'<p><img src="{html.escape(filename)}" alt="{html.escape(alt)}"></p>'


def write_metrics(out_dir, payload):
    """Write ``metrics.json`` (JSON-safe conversion included)."""
    payload = dict(payload, schema_version=SCHEMA_VERSION)
    path = Path(out_dir) / "metrics.json"
    path.write_text(json.dumps(json_safe(payload), indent=2))
    return path


def write_error_report(out_dir, command, message):
    """A minimal report (index.html + metrics.json) for a run that could not be compared."""
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    (Path(out_dir) / "index.html").write_text(
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><style>{CSS}</style></head><body>"
        f"<h1>Validation error</h1><div class='banner' style='background:#d7191c'>ERROR</div>"
        f"<p>Command: <code>{html.escape(command)}</code></p><pre>{html.escape(message)}</pre>"
        "</body></html>", encoding="utf-8")
    write_metrics(out_dir, dict(kind="error", command=command, passed=False,
                                exit_code=2, error=message, checks=[], groups={}))
