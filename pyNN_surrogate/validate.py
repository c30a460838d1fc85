"""
Validate pyNN_surrogate against NEURON on an unmodified PyNN script, or on one cell type.

Script mode::

    python -m pyNN_surrogate.validate SCRIPT [script args] [--reference neuron]
        [--candidate surrogate] [--out DIR] [--tolerances FILE] [--identical-inputs auto|yes|no]

runs SCRIPT twice, each time in its own subprocess (``python -m
pyNN_surrogate.validation.runner BACKEND SCRIPT args``), with the backend name as the script's
first positional argument (``pyNN.utility.get_simulator()``), and compares everything the
script recorded. Validator options may stand anywhere; every other argument goes to the script,
as does everything after ``--``.

Cell mode::

    python -m pyNN_surrogate.validate --cell HH_cond_exp [--out DIR] [--quick]
        [--max-window SECONDS]

runs the single-cell protocols (f-I curve, step currents, free-running divergence against
simulated time over windows of 1, 5, 10 and 100 s) on both backends.

Both modes write ``DIR/index.html`` (figures next to it) and ``DIR/metrics.json``. Exit status:
0 every check passed, 1 a check failed, 2 usage error or a run failed.
"""

import argparse
import shlex
import sys
import tempfile
from pathlib import Path

from pyNN_surrogate.validation import EXIT_ERROR

VALUE_OPTIONS = ("--reference", "--candidate", "--out", "--tolerances", "--identical-inputs",
                 "--cell", "--max-window", "--timeout", "--n-cells", "--reuse-runs")
FLAG_OPTIONS = ("--quick", "--no-progress", "--keep-data", "--no-figures", "--open", "-h",
                "--help")


def build_parser():
    parser = argparse.ArgumentParser(
        prog="python -m pyNN_surrogate.validate",
        usage="%(prog)s SCRIPT [script args] [options]\n"
              "       %(prog)s --cell CELLTYPE [options]",
        description="Run a PyNN script (or single-cell protocols) on a reference and a "
                    "candidate backend, compare what was recorded, and write an HTML report "
                    "and metrics.json. Exit status 0: pass, 1: fail, 2: usage or run error.",
        epilog="Arguments not listed here are passed to SCRIPT (also everything after '--').")
    parser.add_argument("--reference", default="neuron", help="reference backend (neuron)")
    parser.add_argument("--candidate", default="surrogate",
                        help="candidate backend (surrogate)")
    parser.add_argument("--out", default=None,
                        help="report directory (default: validation_<script or cell>)")
    parser.add_argument("--tolerances", default=None,
                        help="JSON file overriding the default tolerances")
    parser.add_argument("--identical-inputs", choices=("auto", "yes", "no"), default="auto",
                        help="whether per-cell agreement is checked (auto: no random sources)")
    parser.add_argument("--keep-data", action="store_true",
                        help="keep the recorded neo data in DIR/runs (default: temporary)")
    parser.add_argument("--reuse-runs", metavar="RUNS_DIR", default=None,
                        help="compare the data kept by an earlier --keep-data run "
                             "(RUNS_DIR/reference, RUNS_DIR/candidate) instead of running "
                             "the script again, e.g. with other tolerances")
    parser.add_argument("--timeout", type=float, default=None,
                        help="seconds allowed for each backend run")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.add_argument("--open", action="store_true",
                        help="open the report in a web browser when it is written")
    parser.add_argument("--no-figures", action="store_true",
                        help="tables and metrics.json only (faster, e.g. for CI)")
    cell = parser.add_argument_group("cell mode")
    cell.add_argument("--cell", metavar="CELLTYPE", help="run single-cell protocols instead")
    cell.add_argument("--quick", action="store_true",
                      help="short protocols (fewer currents, windows up to 2 s) for tests")
    cell.add_argument("--max-window", type=float, default=None,
                      help="longest free-running window in s (default 100, --quick: 2)")
    cell.add_argument("--n-cells", type=int, default=None,
                      help="cells driven by independent inputs in the divergence protocol")
    return parser


def split_arguments(argv):
    """Separate validator options from the script and its arguments.

    Returns
    -------
    own : list of str
        Validator options (for :func:`build_parser`).
    script : str or None
    script_args : list of str
    """
    own, rest = [], []
    i = 0
    while i < len(argv):
        token = argv[i]
        name = token.split("=", 1)[0]
        if token == "--":
            rest += argv[i + 1:]
            break
        if name in VALUE_OPTIONS:
            own.append(token)
            if "=" not in token and i + 1 < len(argv):
                own.append(argv[i + 1])
                i += 1
        elif token in FLAG_OPTIONS:
            own.append(token)
        else:
            rest.append(token)
        i += 1
    return own, (rest[0] if rest else None), rest[1:]


def validate_script(options, script, script_args, command):
    """Run both backends on ``script``, compare and report; return the exit status."""
    from pyNN_surrogate.validation.compare import compare_runs
    from pyNN_surrogate.validation.report import write_error_report
    from pyNN_surrogate.validation.script_report import write_script_report
    from pyNN_surrogate.validation.subprocesses import RunError, run_backend
    from pyNN_surrogate.validation.tolerances import Tolerances

    tolerances = Tolerances(options.tolerances)
    out_dir = Path(options.out or f"validation_{Path(script).stem}")
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="pynn_validate_") as tmp:
        data_dir = out_dir / "runs" if options.keep_data else Path(tmp)
        if options.reuse_runs:
            data_dir = Path(options.reuse_runs)
        run_dirs = {}
        for role, backend in (("reference", options.reference),
                              ("candidate", options.candidate)):
            if options.reuse_runs:
                run_dirs[role] = data_dir / role
                if not (run_dirs[role] / "manifest.json").exists():
                    message = f"--reuse-runs: no {role} run in {data_dir}"
                    write_error_report(out_dir, command, message)
                    print(f"error: {message}", file=sys.stderr)
                    return EXIT_ERROR
                continue
            print(f"running {script} on {backend} ({role}) ...", flush=True)
            run_dirs[role] = data_dir / role
            try:
                run_backend(backend, script, script_args, run_dirs[role],
                            out_dir / f"{role}.log", timeout=options.timeout)
            except RunError as err:
                write_error_report(out_dir, command, str(err))
                print(f"error: {err}", file=sys.stderr)
                return EXIT_ERROR
        identical = {"auto": "auto", "yes": True, "no": False}[options.identical_inputs]
        comparison = compare_runs(run_dirs["reference"], run_dirs["candidate"], tolerances,
                                  identical_inputs=identical, progress=not options.no_progress)
        if not comparison["groups"]:
            message = ("the script recorded nothing that both backends returned "
                       f"(missing: {comparison['missing'] or 'none'})")
            write_error_report(out_dir, command, message)
            print(f"error: {message}", file=sys.stderr)
            return EXIT_ERROR
        title = (f"Validation of {Path(script).name}: "
                 f"{comparison['manifest_cand']['backend']} against "
                 f"{comparison['manifest_ref']['backend']}")
        status = write_script_report(comparison, out_dir, tolerances, title, command,
                                     progress=not options.no_progress,
                                     with_figures=not options.no_figures)
    print(f"report: {out_dir / 'index.html'} ({'PASS' if status == 0 else 'FAIL'})")
    return status


def open_report(options, out_dir):
    """With ``--open``, show ``out_dir/index.html`` in the user's web browser."""
    report = out_dir / "index.html"
    if options.open and report.exists():
        import webbrowser

        webbrowser.open(report.resolve().as_uri())


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    own, script, script_args = split_arguments(argv)
    options = parser.parse_args(own)
    command = "python -m pyNN_surrogate.validate " + shlex.join(argv)
    if options.cell:
        if script is not None:
            parser.print_usage(sys.stderr)
            print("error: give either SCRIPT or --cell, not both", file=sys.stderr)
            return EXIT_ERROR
        from pyNN_surrogate.validation.cell_protocols import validate_cell
        status = validate_cell(options, command)
        open_report(options, Path(options.out or f"validation_cell_{options.cell}"))
        return status
    if script is None:
        parser.print_usage(sys.stderr)
        print("error: a SCRIPT (or --cell CELLTYPE) is required", file=sys.stderr)
        return EXIT_ERROR
    if not Path(script).is_file():
        print(f"error: script {script!r} not found", file=sys.stderr)
        return EXIT_ERROR
    try:
        status = validate_script(options, script, script_args, command)
        open_report(options, Path(options.out or f"validation_{Path(script).stem}"))
        return status
    except Exception as err:   # noqa: BLE001 - tolerance file errors etc.: exit 2
        from pyNN_surrogate.validation.tolerances import ToleranceFileError
        if isinstance(err, ToleranceFileError):
            print(f"error: {err}", file=sys.stderr)
            return EXIT_ERROR
        raise


if __name__ == "__main__":
    sys.exit(main())
