"""
Regenerate the validation reports of the five example scripts in ``examples/validation``.

Usage::

    python -m pyNN_surrogate.validation.build_reports --out docs/validation
        [--candidate surrogate] [--reference neuron] [--only small_network,tm_synapse]
        [--cell HH_cond_exp ...] [--quick]

Each example gets ``OUT/<example>/index.html`` (+ ``metrics.json``); ``OUT/index.html`` links
them with their pass/fail status. ``--cell`` adds single-cell reports (``OUT/cell_<name>/``).
Exit status: 0 if every report passed, 1 if one failed, 2 if a run could not be compared.
"""

import argparse
import html
import json
import sys
from pathlib import Path

from . import EXIT_ERROR, EXIT_FAIL, EXIT_PASS

EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "examples" / "validation"
EXAMPLES = ("small_network", "ei_balanced_tm", "current_injection", "tm_synapse",
            "synfire_chain")


def build_parser():
    parser = argparse.ArgumentParser(
        prog="python -m pyNN_surrogate.validation.build_reports",
        description="Run python -m pyNN_surrogate.validate on every example of "
                    "examples/validation and write an index of the reports.")
    parser.add_argument("--out", default="docs/validation", help="output directory")
    parser.add_argument("--reference", default="neuron", help="reference backend")
    parser.add_argument("--candidate", default="surrogate", help="candidate backend")
    parser.add_argument("--only", default=None,
                        help=f"comma-separated subset of {', '.join(EXAMPLES)}")
    parser.add_argument("--cell", action="append", default=[],
                        help="also run the single-cell protocols of this cell type "
                             "(repeatable)")
    parser.add_argument("--quick", action="store_true",
                        help="short single-cell protocols (windows up to 2 s)")
    parser.add_argument("--tolerances", default=None, help="tolerance override file")
    return parser


def main(argv=None):
    from pyNN_surrogate import validate

    args = build_parser().parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    names = args.only.split(",") if args.only else list(EXAMPLES)
    unknown = [n for n in names if n not in EXAMPLES]
    if unknown:
        print(f"error: unknown examples {unknown}; choose from {EXAMPLES}", file=sys.stderr)
        return EXIT_ERROR
    common = ["--reference", args.reference, "--candidate", args.candidate, "--no-progress"]
    if args.tolerances:
        common += ["--tolerances", args.tolerances]
    entries = []
    for name in names:
        print(f"=== {name}", flush=True)
        status = validate.main([str(EXAMPLES_DIR / f"{name}.py"), "--out", str(out / name)]
                               + common)
        entries.append((name, status))
    for celltype in args.cell:
        print(f"=== cell {celltype}", flush=True)
        status = validate.main(["--cell", celltype, "--out", str(out / f"cell_{celltype}")]
                               + common + (["--quick"] if args.quick else []))
        entries.append((f"cell_{celltype}", status))
    write_index(out, entries, args)
    statuses = [s for _, s in entries]
    if EXIT_ERROR in statuses:
        return EXIT_ERROR
    return EXIT_FAIL if EXIT_FAIL in statuses else EXIT_PASS


def write_index(out, entries, args):
    """``OUT/index.html``: one row per report with status, speed ratio and failed checks."""
    labels = {EXIT_PASS: ("PASS", "#1a9641"), EXIT_FAIL: ("FAIL", "#d7191c"),
              EXIT_ERROR: ("ERROR", "#d7191c")}
    rows = []
    for name, status in entries:
        text, colour = labels.get(status, ("ERROR", "#d7191c"))
        failed, speed = "", "–"
        metrics_file = out / name / "metrics.json"
        if metrics_file.exists():
            metrics = json.loads(metrics_file.read_text())
            failed = ", ".join(sorted({f"{c.get('group') or ''}:{c['metric']}"
                                       for c in metrics.get("checks", [])
                                       if c["status"] == "fail"}))
            if metrics.get("speed_ratio") is not None:
                speed = f"{metrics['speed_ratio']:.2f}"
        rows.append(f"<tr><td><a href='{name}/index.html'>{html.escape(name)}</a></td>"
                    f"<td style='color:white;background:{colour}'>{text}</td>"
                    f"<td>{speed}</td><td>{html.escape(failed)}</td></tr>")
    (out / "index.html").write_text(
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>pyNN_surrogate validation"
        "</title></head><body style='font-family:sans-serif'>"
        f"<h1>pyNN_surrogate validation: {html.escape(args.candidate)} against "
        f"{html.escape(args.reference)}</h1><p>Regenerate with <code>python -m "
        f"pyNN_surrogate.validation.build_reports --out {html.escape(str(out))}</code>.</p>"
        "<table border='1' cellpadding='4' style='border-collapse:collapse'><tr><th>report"
        "</th><th>status</th><th>speed ratio (ref/cand)</th><th>failed checks</th></tr>"
        + "".join(rows) + "</table></body></html>", encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
