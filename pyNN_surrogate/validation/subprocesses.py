"""
Start :mod:`pyNN_surrogate.validation.runner` in a subprocess, one per backend.
"""

import os
import subprocess
import sys
import time
from pathlib import Path

from .runner import MANIFEST_NAME, read_manifest

REPO_ROOT = Path(__file__).resolve().parents[2]
RUNNER_FILE = Path(__file__).resolve().with_name("runner.py")   # run by path: see runner


class RunError(RuntimeError):
    """A backend run failed: the script raised, exited non-zero, or wrote no manifest."""


def subprocess_environment():
    """The environment of a runner subprocess: this checkout's root first on PYTHONPATH."""
    environment = dict(os.environ)
    paths = [str(REPO_ROOT)] + [p for p in environment.get("PYTHONPATH", "").split(os.pathsep)
                                if p]
    environment["PYTHONPATH"] = os.pathsep.join(paths)
    environment.setdefault("MPLBACKEND", "Agg")
    return environment


def run_backend(backend, script, script_args, run_dir, log_path, timeout=None, cwd=None):
    """Run ``script`` on ``backend`` in a subprocess and return its manifest.

    Parameters
    ----------
    backend : str
        Backend name given to the script as first positional argument ("neuron", "surrogate").
    script : path-like
    script_args : list of str
    run_dir : path-like
        Where the runner writes neo pickles and ``manifest.json``.
    log_path : path-like
        stdout and stderr of the subprocess go here.
    timeout : float, optional
        Seconds.
    cwd : path-like, optional
        Working directory of the script (default: the current one).

    Returns
    -------
    dict
        The manifest, with ``returncode``, ``log`` and ``wall_subprocess_s`` added.

    Raises
    ------
    RunError
        If the subprocess fails, times out or writes no manifest (the message ends with the
        tail of the log).
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, str(RUNNER_FILE), "--out", str(run_dir), backend, str(script),
               *script_args]
    start = time.perf_counter()
    with open(log_path, "w") as log:
        log.write("$ " + " ".join(command) + "\n")
        log.flush()
        try:
            completed = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT,
                                       env=subprocess_environment(), cwd=cwd, timeout=timeout)
            returncode = completed.returncode
        except subprocess.TimeoutExpired:
            returncode = None
    wall = time.perf_counter() - start
    tail = log_tail(log_path)
    if returncode is None:
        raise RunError(f"{backend}: {script} did not finish within {timeout} s\n{tail}")
    if not (run_dir / MANIFEST_NAME).exists():
        raise RunError(f"{backend}: {script} exited with status {returncode} without writing "
                       f"a manifest\n{tail}")
    manifest = read_manifest(run_dir)
    if returncode != 0 or manifest.get("error"):
        raise RunError(f"{backend}: {script} failed (exit status {returncode})\n"
                       f"{manifest.get('error') or tail}")
    manifest.update(returncode=returncode, log=str(log_path), wall_subprocess_s=wall)
    return manifest


def log_tail(path, n_lines=25):
    """The last lines of a log file."""
    try:
        lines = Path(path).read_text(errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join(lines[-n_lines:])
