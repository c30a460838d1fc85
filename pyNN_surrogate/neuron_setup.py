"""
Compile pyNN.neuron's NMODL mechanisms, once, so that ``import pyNN.neuron`` works.

pyNN_surrogate itself never needs NEURON; training, validation and the comparison tests do.
Run ``python -m pyNN_surrogate.neuron_setup``; it does nothing if the mechanisms are built.
"""

import argparse
import importlib.util
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path


def pynn_nmodl_directory():
    """The folder of pyNN.neuron's NMODL files (found without importing pyNN.neuron)."""
    spec = importlib.util.find_spec("pyNN")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("PyNN is not installed")
    return Path(list(spec.submodule_search_locations)[0]) / "neuron" / "nmodl"


def find_nrnivmodl():
    """Find ``nrnivmodl`` next to this Python (a virtual environment) or on the PATH."""
    candidate = Path(sys.executable).parent / "nrnivmodl"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("nrnivmodl")
    if found is None:
        raise RuntimeError("nrnivmodl not found: install NEURON first (pip install neuron)")
    return found


def mechanisms_built(nmodl_directory):
    """True if the compiled mechanism library exists for this machine's architecture."""
    arch_directory = nmodl_directory / platform.machine()
    return any(arch_directory.glob("**/libnrnmech*")) or (arch_directory / "special").exists()


def compile_mechanisms(force=False, quiet=False):
    """
    Compile pyNN.neuron's mechanisms with ``nrnivmodl`` unless they are already built.

    Returns
    -------
    pathlib.Path
        The NMODL folder.
    """
    nmodl_directory = pynn_nmodl_directory()
    if mechanisms_built(nmodl_directory) and not force:
        if not quiet:
            print(f"pyNN.neuron mechanisms already built in {nmodl_directory}")
        return nmodl_directory
    environment = dict(os.environ)
    environment["PATH"] = str(Path(sys.executable).parent) + os.pathsep + environment["PATH"]
    result = subprocess.run([find_nrnivmodl()], cwd=nmodl_directory, env=environment,
                            capture_output=True, text=True)
    if result.returncode != 0 or not mechanisms_built(nmodl_directory):
        raise RuntimeError(f"nrnivmodl failed in {nmodl_directory}:\n{result.stdout}\n"
                           f"{result.stderr}")
    if not quiet:
        print(f"compiled pyNN.neuron mechanisms in {nmodl_directory}")
    return nmodl_directory


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m pyNN_surrogate.neuron_setup",
        description="Compile pyNN.neuron's NMODL mechanisms (needed for training, validation "
                    "and the comparison tests, not for running pyNN_surrogate).")
    parser.add_argument("--force", action="store_true", help="recompile even if built")
    args = parser.parse_args(argv)
    compile_mechanisms(force=args.force)


if __name__ == "__main__":
    main()
