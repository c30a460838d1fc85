"""
Run an unmodified PyNN script on one backend and collect everything it records.

Usage (normally started by :mod:`pyNN_surrogate.validate`, one subprocess per backend)::

    python -m pyNN_surrogate.validation.runner --out DIR BACKEND SCRIPT [script args ...]
    python path/to/pyNN_surrogate/validation/runner.py --out DIR BACKEND SCRIPT [args ...]

The second form (used by the validator) does not import the pyNN_surrogate package, and so not
torch, when BACKEND is not the surrogate: this module imports only the standard library, neo and
the backend.

The script is executed as ``__main__`` with ``sys.argv = [SCRIPT, BACKEND, *args]``, so that
``pyNN.utility.get_simulator()`` picks ``pyNN.<BACKEND>``. Before the script starts, the backend
module is imported and its module-level functions ``run``, ``run_until``, ``run_for`` (timed) and
``end`` (collects, then calls the original) are wrapped; the script sees the wrapped functions
through the module object whatever way it imports it (``get_simulator``, ``import pyNN.neuron as
sim``, ``import pyNN_surrogate as sim``). ``Assembly.record`` of the backend is wrapped to
remember which assemblies were recorded.

At ``end()``, or when the script finishes without calling it (also on ``sys.exit`` and, as a
last resort, at interpreter exit), every Population found in the backend's
``state.recorders`` that has recorded variables writes ``get_data()`` as a neo PickleIO file,
recorded assemblies likewise, and ``manifest.json`` is written in DIR (see
:func:`write_manifest` for its fields).

Exit status: the script's own status; 2 if the script raised an exception (the traceback is in
the manifest's ``error`` field and on stderr).
"""

import argparse
import atexit
import functools
import gc
import importlib
import json
import os
import runpy
import sys
import time
import traceback
import weakref
from pathlib import Path

MANIFEST_NAME = "manifest.json"
MANIFEST_VERSION = 1
STOCHASTIC_SOURCES = ("SpikeSourcePoisson", "SpikeSourceGamma", "SpikeSourcePoissonRefractory",
                      "SpikeSourceInhGamma", "NoisyCurrentSource")
BACKEND_MODULES = {"surrogate": "pyNN.surrogate", "pyNN_surrogate": "pyNN.surrogate"}


def backend_module_name(backend):
    """The module imported for a backend name as given to ``get_simulator`` ("neuron" ...)."""
    return BACKEND_MODULES.get(backend, backend if backend.startswith("pyNN") else f"pyNN.{backend}")


def import_backend(backend):
    """Import a PyNN backend module by short name, preparing what it needs first.

    For ``neuron`` the NMODL mechanisms of pyNN.neuron are compiled if needed; for
    ``surrogate`` the ``pyNN.surrogate`` alias is installed.
    """
    if backend == "neuron":
        _load_neuron_setup().compile_mechanisms(quiet=True)
    if backend in BACKEND_MODULES:
        import pyNN_surrogate_alias  # noqa: F401  (installs the pyNN.surrogate alias)
    return importlib.import_module(backend_module_name(backend))


def _load_neuron_setup():
    """``pyNN_surrogate.neuron_setup`` loaded from its file (stdlib only).

    Loading it by path, not as ``pyNN_surrogate.neuron_setup``, keeps a run on pyNN.neuron from
    importing the pyNN_surrogate package (and torch): seconds per run on a small machine.
    """
    import importlib.util

    name = "pyNN_surrogate.neuron_setup"
    if name in sys.modules:
        return sys.modules[name]
    path = Path(__file__).resolve().parents[1] / "neuron_setup.py"
    spec = importlib.util.spec_from_file_location("_pynn_validation_neuron_setup", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Collector:
    """Wraps one backend module, times its runs and writes its recorded data once.

    Parameters
    ----------
    sim : module
        The PyNN backend module (e.g. ``pyNN.neuron``).
    backend : str
        Short backend name, stored in the manifest.
    out_dir : path-like
        Where data files and the manifest go.
    script, script_args : str, list of str
        Stored in the manifest.
    """

    def __init__(self, sim, backend, out_dir, script, script_args):
        self.sim = sim
        self.backend = backend
        self.out_dir = Path(out_dir)
        self.script = str(script)
        self.script_args = list(script_args)
        self.run_wall = 0.0
        self.run_calls = 0
        self._depth = 0
        self.script_start = None
        self.script_wall = None
        self.collected = False
        self.error = None
        self.recorded_assemblies = []   # weak references, in order of first record()
        self._originals = {}

    # -- wrapping ------------------------------------------------------------------------------
    def install(self):
        """Wrap ``run``, ``run_until``, ``run_for``, ``end`` and ``Assembly.record``."""
        for name in ("run", "run_until", "run_for"):
            original = getattr(self.sim, name, None)
            if original is not None:
                self._originals[name] = original
                setattr(self.sim, name, self._timed(original))
        original_end = getattr(self.sim, "end")
        self._originals["end"] = original_end

        @functools.wraps(original_end)
        def end(*args, **kwargs):
            self.collect()
            return original_end(*args, **kwargs)

        self.sim.end = end
        assembly_class = getattr(self.sim, "Assembly", None)
        if assembly_class is not None:
            original_record = assembly_class.record
            collector = self

            @functools.wraps(original_record)
            def record(assembly, *args, **kwargs):
                if not any(ref() is assembly for ref in collector.recorded_assemblies):
                    collector.recorded_assemblies.append(weakref.ref(assembly))
                return original_record(assembly, *args, **kwargs)

            assembly_class.record = record

    def _timed(self, function):
        @functools.wraps(function)
        def timed(*args, **kwargs):
            self._depth += 1
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self._depth -= 1
                if self._depth == 0:
                    self.run_wall += time.perf_counter() - start
                    self.run_calls += 1
        return timed

    # -- collection ----------------------------------------------------------------------------
    def recorded_populations(self):
        """Populations with recorded variables, in creation order (by first cell id)."""
        populations = []
        for recorder in list(self.sim.state.recorders):
            if any(len(ids) > 0 for ids in recorder.recorded.values()):
                populations.append(recorder.population)
        return sorted(populations, key=lambda p: int(p.first_id))

    def stochastic_inputs(self):
        """Names of random spike sources and noisy current sources alive in the network."""
        found = set()
        population_class = self.sim.Population
        for obj in gc.get_objects():
            kind = type(obj)    # type(), not isinstance(): no lazy __class__ properties
            if issubclass(kind, population_class):
                name = type(obj.celltype).__name__
                if name in STOCHASTIC_SOURCES:
                    found.add(f"{obj.label} ({name})")
            elif kind.__name__ == "NoisyCurrentSource":
                found.add("NoisyCurrentSource")
        return sorted(found)

    def collect(self):
        """Write every recorded Population/Assembly and the manifest (once)."""
        if self.collected:
            return
        self.collected = True
        if self.script_start is not None and self.script_wall is None:
            self.script_wall = time.perf_counter() - self.script_start
        from neo.io import PickleIO

        self.out_dir.mkdir(parents=True, exist_ok=True)
        groups, used = [], {}
        populations = self.recorded_populations()
        keys_by_population = {}
        errors = [self.error] if self.error else []
        for population in populations:
            key = unique_key(population.label, used)
            keys_by_population[id(population)] = key
            try:
                groups.append(self._write_group(PickleIO, population, key, "population",
                                                populations=[key]))
            except Exception:   # noqa: BLE001 - reported in the manifest
                errors.append(f"get_data() of population {key!r} failed:\n"
                              + traceback.format_exc())
        for ref in self.recorded_assemblies:
            assembly = ref()
            if assembly is None:
                continue
            members = [keys_by_population.get(id(p)) for p in assembly.populations]
            key = unique_key(assembly.label, used)
            try:
                groups.append(self._write_group(PickleIO, assembly, key, "assembly",
                                                populations=[m for m in members if m]))
            except Exception:   # noqa: BLE001 - reported in the manifest
                errors.append(f"get_data() of assembly {key!r} failed:\n"
                              + traceback.format_exc())
        self.error = "\n".join(errors) or None
        write_manifest(self.out_dir, dict(
            manifest_version=MANIFEST_VERSION,
            backend=self.backend,
            module=self.sim.__name__,
            script=self.script,
            script_args=self.script_args,
            wall_script_s=self.script_wall,
            wall_run_s=self.run_wall,
            run_calls=self.run_calls,
            t_stop_ms=float(self.sim.get_current_time()),
            dt_ms=float(self.sim.get_time_step()),
            stochastic_inputs=self.stochastic_inputs(),
            groups=groups,
            error=self.error,
        ))

    def _write_group(self, pickle_io, group, key, kind, populations):
        block = group.get_data()
        filename = f"{kind}_{safe_filename(key)}.pkl"
        pickle_io(str(self.out_dir / filename)).write_block(block)
        variables = sorted({name for segment in block.segments
                            for name in ([s.name for s in segment.analogsignals]
                                         + (["spikes"] if segment.spiketrains else []))})
        celltypes = sorted({type(p.celltype).__name__ for p in getattr(group, "populations",
                                                                       [group])})
        return dict(key=key, label=group.label, kind=kind, size=int(group.size),
                    celltype=",".join(celltypes), variables=variables,
                    n_segments=len(block.segments), file=filename, populations=populations)


def unique_key(label, used):
    """``label``, or ``label#k`` if it was already used (``used`` counts labels)."""
    label = str(label)
    count = used.get(label, 0)
    used[label] = count + 1
    return label if count == 0 else f"{label}#{count}"


def safe_filename(key):
    """A file-name-safe version of a group key."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in key)


def write_manifest(out_dir, manifest):
    """Write ``manifest.json``.

    Fields: ``manifest_version``, ``backend``, ``module``, ``script``, ``script_args``,
    ``wall_script_s`` (whole script, s), ``wall_run_s`` (sum over ``run*`` calls, s),
    ``run_calls``, ``t_stop_ms``, ``dt_ms``, ``stochastic_inputs`` (random sources found, whose
    realisations differ between backends), ``groups`` (one dict per Population/Assembly:
    ``key``, ``label``, ``kind``, ``size``, ``celltype``, ``variables``, ``n_segments``, ``file``,
    ``populations``) and ``error`` (traceback text or None).
    """
    path = Path(out_dir) / MANIFEST_NAME
    path.write_text(json.dumps(manifest, indent=2))
    return path


def read_manifest(run_dir):
    """Read ``manifest.json`` of a run directory."""
    return json.loads((Path(run_dir) / MANIFEST_NAME).read_text())


def run_script(backend, script, script_args, out_dir):
    """Execute ``script`` on ``backend`` with collection; return the exit status."""
    sim = import_backend(backend)
    collector = Collector(sim, backend, out_dir, script, script_args)
    collector.install()
    atexit.register(_collect_quietly, collector)
    script_path = Path(script).resolve()
    sys.argv = [str(script_path), backend, *script_args]
    sys.path.insert(0, str(script_path.parent))
    status = 0
    collector.script_start = time.perf_counter()
    try:
        runpy.run_path(str(script_path), run_name="__main__")
    except SystemExit as exc:
        code = exc.code
        status = code if isinstance(code, int) else (0 if code is None else 1)
    except BaseException:   # noqa: BLE001 - report any failure of the user's script
        collector.error = traceback.format_exc()
        sys.stderr.write(collector.error)
        status = 2
    collector.script_wall = time.perf_counter() - collector.script_start
    if collector.collected and collector.error:
        write_error(out_dir, collector.error)
    collector.collect()
    return status


def write_error(out_dir, error):
    """Add an error text to an already written manifest."""
    manifest = read_manifest(out_dir)
    manifest["error"] = error
    write_manifest(out_dir, manifest)


def _collect_quietly(collector):
    try:
        collector.collect()
    except Exception:   # noqa: BLE001 - interpreter is exiting, nothing else to do
        traceback.print_exc()


def build_parser():
    parser = argparse.ArgumentParser(
        prog="python -m pyNN_surrogate.validation.runner",
        description="Run a PyNN script on one backend and save everything it records "
                    "(neo pickles + manifest.json) in --out.")
    parser.add_argument("--out", required=True, help="output directory for data and manifest")
    parser.add_argument("backend", help="backend name as for get_simulator: neuron, surrogate")
    parser.add_argument("script", help="PyNN script using pyNN.utility.get_simulator()")
    parser.add_argument("script_args", nargs=argparse.REMAINDER, help="arguments of the script")
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    return run_script(args.backend, args.script, args.script_args, args.out)


if __name__ == "__main__":
    # Run by path, Python puts this folder first on sys.path; its modules (metrics, report...)
    # must not shadow the script's own imports.
    _here = str(Path(__file__).resolve().parent)
    sys.path[:] = [p for p in sys.path if not p or str(Path(p).resolve()) != _here]
    sys.exit(main())
