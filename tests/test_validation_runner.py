"""The runner collects what an unmodified PyNN script records, populations and assemblies.

pyNN.neuron runs in the subprocesses: these tests do not need the surrogate backend.
"""

import json
import subprocess
import sys

import pytest

from pyNN_surrogate.validation.runner import read_manifest
from pyNN_surrogate.validation.subprocesses import RUNNER_FILE, RunError, run_backend, \
    subprocess_environment

pytest.importorskip("neuron")

TINY_SCRIPT = '''
import numpy as np
from pyNN.utility import get_simulator

sim, options = get_simulator(
    ("--poisson", "use a Poisson source", {"action": "store_true"}),
    ("--no-end", "do not call end()", {"action": "store_true"}),
    ("--fail", "raise after run()", {"action": "store_true"}),
)
sim.setup(timestep=0.1, min_delay=1.0)
if options.poisson:
    source = sim.Population(4, sim.SpikeSourcePoisson(rate=200.0), label="source")
else:
    source = sim.Population(4, sim.SpikeSourceArray(
        spike_times=[np.arange(5.0, 100.0, 7.0 + i) for i in range(4)]), label="source")
exc = sim.Population(4, sim.HH_cond_exp(), label="exc")
inh = sim.Population(2, sim.HH_cond_exp(), label="inh")
unrecorded = sim.Population(2, sim.HH_cond_exp(), label="unrecorded")
cells = sim.Assembly(exc, inh, label="cells")
sim.Projection(source, cells, sim.AllToAllConnector(),
               sim.StaticSynapse(weight=0.05, delay=1.0), receptor_type="excitatory")
cells.record("spikes")
exc[0:2].record("v")
sim.run(60.0)
sim.reset()
sim.run(40.0)
if options.fail:
    raise RuntimeError("deliberate failure after run")
if not options.no_end:
    sim.end()
'''


@pytest.fixture(scope="module")
def tiny_script(tmp_path_factory):
    path = tmp_path_factory.mktemp("scripts") / "tiny_net.py"
    path.write_text(TINY_SCRIPT)
    return path


def test_runner_collects_populations_and_assembly(tiny_script, tmp_path):
    from neo.io import PickleIO

    manifest = run_backend("neuron", tiny_script, [], tmp_path / "run", tmp_path / "log.txt")
    assert manifest["backend"] == "neuron" and manifest["module"] == "pyNN.neuron"
    assert manifest["error"] is None
    assert manifest["stochastic_inputs"] == []
    assert manifest["run_calls"] == 2
    assert 0 < manifest["wall_run_s"] <= manifest["wall_script_s"]
    groups = {g["key"]: g for g in manifest["groups"]}
    assert set(groups) == {"exc", "inh", "cells"}        # "unrecorded" and "source" are not
    assert groups["exc"]["kind"] == "population"
    assert groups["exc"]["variables"] == ["spikes", "v"]
    assert groups["inh"]["variables"] == ["spikes"]
    assert groups["cells"]["kind"] == "assembly"
    assert groups["cells"]["populations"] == ["exc", "inh"]
    assert groups["cells"]["size"] == 6
    block = PickleIO(str(tmp_path / "run" / groups["cells"]["file"])).read_block()
    assert len(block.segments) == 2                      # run, reset, run
    assert len(block.segments[0].spiketrains) == 6
    assert sum(len(st) for st in block.segments[0].spiketrains) > 0
    exc_block = PickleIO(str(tmp_path / "run" / groups["exc"]["file"])).read_block()
    v = exc_block.segments[0].filter(name="v")[0]
    assert v.shape[1] == 2
    assert float(v.t_stop.rescale("ms")) == pytest.approx(60.0, abs=0.2)


def test_runner_collects_at_exit_without_end_and_flags_random_sources(tiny_script, tmp_path):
    command = [sys.executable, str(RUNNER_FILE), "--out", str(tmp_path), "neuron",
               str(tiny_script), "--no-end", "--poisson"]
    completed = subprocess.run(command, capture_output=True, text=True,
                               env=subprocess_environment(), timeout=120)
    assert completed.returncode == 0, completed.stderr
    manifest = read_manifest(tmp_path)
    assert {g["key"] for g in manifest["groups"]} == {"exc", "inh", "cells"}
    assert manifest["stochastic_inputs"] == ["source (SpikeSourcePoisson)"]
    json.dumps(manifest)


def test_failing_script_raises_run_error_with_traceback(tiny_script, tmp_path):
    with pytest.raises(RunError, match="deliberate failure after run"):
        run_backend("neuron", tiny_script, ["--fail"], tmp_path / "run", tmp_path / "log.txt")
    manifest = read_manifest(tmp_path / "run")
    assert "RuntimeError" in manifest["error"]
