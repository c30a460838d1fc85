"""Writing cell-type packages: ``card.json`` + ``weights.pt`` (+ the weights' SHA-256)."""

import json
import os
import platform
import sys
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from ..surrogates.package import CARD_FILE, WEIGHTS_FILE, sha256_file, train_command

UNITS = {"g_exc": "uS", "g_inh": "uS", "i_inj": "nA", "v_jump": "mV/ms"}
MEANING = {
    "g_exc": "total excitatory conductance",
    "g_inh": "total inhibitory conductance",
    "i_inj": "injected current (current sources + i_offset, + synaptic current for "
             "current-based cells)",
    "v_jump": "voltage-jump synaptic input (summed signed weights of the arrivals in a bin, "
              "divided by the bin width)",
}


def versions():
    """Versions of the ground-truth and training software."""
    import neuron
    import pyNN
    return dict(pyNN=pyNN.__version__, NEURON=neuron.__version__, torch=torch.__version__,
                numpy=np.__version__, python=sys.version.split()[0])


def machine():
    """Description of the training machine."""
    return dict(platform=platform.platform(), processor=platform.processor() or None,
                machine=platform.machine(), cpu_count=os.cpu_count(),
                torch_threads=torch.get_num_threads())


def cell_parameters(config):
    """Exact parameters of the ground-truth cell (PyNN defaults updated by ``cell_params``)."""
    import pyNN.neuron as sim
    params = dict(getattr(sim, config.celltype).default_parameters)
    params.update(config.cell_params)
    return {k: float(v) for k, v in params.items()}


def parameter_domain(cell, params, data, train_idx, config=None):
    """The card's parameter domain.

    Synaptic time constants may take any value inside the range the ground truth covered
    (the cell type's defaults in ``p_default_tau`` of the trials, log-uniform over the cell
    spec's ``tau_e``/``tau_i`` otherwise); ``i_offset`` may take any value within the
    injected-current range seen in training (it only enters the ``i_inj`` channel); the
    parameters of a conditioned surrogate may take any value in their trained range; every
    other parameter is fixed.
    """
    ch = list(cell.drive_channels).index("i_inj")
    i_inj = data["drive"][train_idx][..., ch]
    conditioned = {c.name: c for c in cell.conditioned} if getattr(config, "conditioned",
                                                                    False) else {}
    domain = {}
    for name, value in params.items():
        if name in conditioned:
            c = conditioned[name]
            domain[name] = dict(kind="range", min=c.lo, max=c.hi,
                                note="an input of the conditioned surrogate; may differ "
                                     "between cells")
        elif name in cell.free:
            lo, hi = cell.tau_e if name.endswith("E") else cell.tau_i
            default = cell.tau_defaults[0 if name.endswith("E") else 1]
            domain[name] = dict(kind="range", min=float(min(lo, default)),
                                max=float(max(hi, default)),
                                note="enters only through the exact synapse kernels; the "
                                     f"ground truth used the default {default:g} ms in "
                                     f"{getattr(config, 'p_default_tau', 0.3):.0%} of the "
                                     f"trials and log-uniform values in [{lo:g}, {hi:g}] ms "
                                     "otherwise")
        elif name == cell.current_param:
            domain[name] = dict(kind="range", min=round(float(i_inj.min()), 4),
                                max=round(float(i_inj.max()), 4),
                                note="adds to the i_inj channel; range = bin-averaged "
                                     "injected current seen in training (nA); the sum "
                                     "i_offset + current sources should stay inside it")
        else:
            domain[name] = dict(kind="fixed", value=value, rtol=1e-3)
    return domain


def conditioning_section(cell, params):
    """The card's ``conditioning`` entry of a conditioned surrogate: its parameter inputs,
    their constraints, and the reference parameter set (the ground-truth cell's values)."""
    section = dict(
        parameters=[c.card_entry() for c in cell.conditioned],
        constraints=[dict(lower=lo, upper=hi, min_gap=gap) for lo, hi, gap in cell.constraints],
        reference={c.name: params[c.name] for c in cell.conditioned},
        note="inputs appended to every frame after the drive features, normalised to [-1, 1] "
             "over the range (log transform where stated); the ground truth drew them per "
             "trial, uniformly in the transform, under the constraints")
    frames = cell.card_frames()
    if frames is not None:
        section["frames"] = dict(
            frames, note="drive channel ch is divided by prod((p / p_ref) ** e) over "
            "drive[ch] before normalisation; v = origin + stretch * (v_ref - origin_ref), "
            "stretch = span / span_ref, where v_ref is the network's v in the reference "
            "cell's frame (see pyNN_surrogate/surrogates/conditioning.py)")
    return section


def output_units(name, known=None):
    """Units of an analog output: ``known[name]`` if given (a cell type's auxiliary outputs),
    else ``v`` and ``v.<section>`` mV, ``ca.<section>`` mM (Ca concentration), ``dipole``
    nAm."""
    if known and name in known:
        return known[name]
    if name == "v" or name.startswith("v."):
        return "mV"
    if name.startswith("ca."):
        return "mM"
    if name == "dipole":
        return "nAm"
    raise ValueError(f"unknown analog output {name!r}: expected v, v.<section>, ca.<section> "
                     "or dipole")


def output_entries(trained, units=None):
    """The card's ``outputs``: v, then every extra analog output, with its normalisation
    (``units``: {name: units} of outputs :func:`output_units` does not know)."""
    _, v_offset, v_scale = trained["norm"]
    entries = {"v": (v_offset, v_scale, None), **trained.get("extra_norm", {})}
    out = {}
    for name, (offset, scale, transform) in entries.items():
        out[name] = dict(units=output_units(name, units), offset=offset, scale=scale,
                         formula=f"{name} = offset + scale * {name}_norm, at the end of each "
                                 "output bin")
        if transform == "log":
            out[name].update(transform="log", formula=f"{name} = exp(offset + scale * "
                                                      f"{name}_norm), at the end of each "
                                                      "output bin")
    return out


def build_card(cell, config, trained, data, train_idx, command, seed, wall_s, gt_seconds,
               v_rest=None):
    """Assemble the card of a freshly trained surrogate (without evaluation numbers)."""
    scales = trained["norm"][0]
    net = trained["net"]
    params = cell_parameters(config)
    card = {
        "format_version": 1,
        "name": config.celltype,
        "description": f"CNN-LSTM surrogate of pyNN.neuron {config.celltype}",
        "native_dt": config.native_dt,
        "output_dt": config.output_dt,
        "substeps": int(round(config.native_dt / config.output_dt)),
        "drive_dt": config.drive_bin,
        "drive_channels": [
            dict(name=c, units=UNITS[c], meaning=MEANING[c],
                 normalisation=dict(kind="asinh", scale=s,
                                    formula="x_norm = asinh(x / scale)"))
            for c, s in zip(cell.drive_channels, scales)],
        "drive_averaging": f"mean of the exact drive sampled at the dt points inside each "
                           f"drive_dt = {config.drive_bin:g} ms bin (docs/architecture.md, "
                           "Time; exp-synapse conductance g(t_k+), arrivals at t_k "
                           "included); the network sees the native_dt / drive_dt bins of a "
                           "native step as one input frame (bin-major, channel-minor)",
        "outputs": output_entries(trained, dict(cell.aux_outputs)),
        "recordables": list(output_entries(trained, dict(cell.aux_outputs))),
        "spike_threshold": trained["threshold"],
        "spike_rule": "per native step take the highest bin logit; the step spikes in "
                      "that bin when it exceeds spike_threshold and the previous step's did "
                      "not (one spike per supra-threshold episode); reported time = bin "
                      "centre",
        "model": dict(kind="cnn_lstm", **net.config(),
                      n_parameters=int(sum(p.numel() for p in net.parameters()))),
        "ground_truth": dict(
            simulator="NEURON", interface="pyNN.neuron", versions=versions(),
            cell_type=config.celltype, cell_parameters=params, dt=config.dt,
            config=asdict(config), neuron_seconds=float(gt_seconds),
            n_trials=int(len(data["v"])),
            silent_fraction=float(np.mean(data["spike_counts"] == 0)),
            median_rate_hz=float(np.median(data["spike_counts"]) * 1000.0 / config.duration),
            inputs="per trial: merged excitatory and inhibitory Poisson trains "
                   "(SpikeSourceArray) with piecewise-constant changing rates, zero-rate "
                   "pauses and bursts, or (in "
                   f"{getattr(config, 'p_stationary', 0.0):.0%} of trials) constant rates, "
                   "half of those without inhibition; "
                   f"{getattr(config, 'p_current_only', 0.0):.0%} of trials with injected "
                   "current and no synaptic input; PSP sizes 0.1-8 mV; synaptic time constants at the "
                   f"PyNN defaults {cell.tau_defaults} ms in {config.p_default_tau:.0%} of "
                   f"trials, log-uniform over tau_syn_E {cell.tau_e} / tau_syn_I "
                   f"{cell.tau_i} ms otherwise; families silent/sub/driven; "
                   f"{config.current_fraction:.0%} of trials with injected DC, step or noisy "
                   f"current up to {config.current_max:g} x {cell.i_scale:g} nA "
                   "(StepCurrentSource); 300 ms input-free settling discarded"),
        "domain": parameter_domain(cell, params, data, train_idx, config),
        "initial_values": {"v": dict(
            policy="rest",
            note="the surrogate always starts from its own resting state (v_rest, obtained "
                 "by running it on zero drive until settled); a PyNN v_init/initialize(v=...) "
                 "is not honoured; the ground truth started every trial at rest "
                 "(300 ms settling from v = -65 mV)"),
            "v_rest": v_rest},
        "training": dict(
            command=command, train_command_template=train_command(config.celltype,
                                                                  config.cell_params),
            seed=seed, wall_time_s=round(float(wall_s), 1),
            training_loop_s=round(float(trained["wall_s"]), 1),
            steps_done=trained["steps_done"], stopped_by_time=trained["stopped_by_time"],
            hyperparameters=trained["config"], machine=machine(),
            split=dict(train=int(len(train_idx))),
            validation=trained["validation"]),
        "weights": {"file": WEIGHTS_FILE, "sha256": None},
    }
    if getattr(config, "conditioned", False):
        card["conditioning"] = conditioning_section(cell, params)
        card["description"] += (" conditioned on " + ", ".join(c.name for c in cell.conditioned))
    return card


def write_package(out_dir, card, state_dict):
    """Write ``weights.pt`` and ``card.json`` (with the weights' SHA-256) into ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    weights = out / WEIGHTS_FILE
    torch.save({k: v.detach().cpu().clone() for k, v in state_dict.items()}, weights)
    card["weights"] = {"file": WEIGHTS_FILE, "sha256": sha256_file(weights),
                       "bytes": weights.stat().st_size}
    write_card(out, card)
    return out


def write_card(out_dir, card):
    """(Re)write ``card.json`` atomically."""
    path = Path(out_dir) / CARD_FILE
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(card, indent=2, default=_jsonable) + "\n")
    tmp.replace(path)


def _jsonable(x):
    if isinstance(x, (np.floating, np.integer)):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, (tuple, set)):
        return list(x)
    raise TypeError(f"not JSON serialisable: {type(x)}")
