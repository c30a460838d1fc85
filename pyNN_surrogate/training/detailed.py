"""Evaluation and cards of the detailed (HNN) cell types' surrogates.

The evaluation runs the package exactly as the backend does (:class:`SurrogateRuntime`, from
rest, on the drive in PyNN units) on held-out test trials, free-running, and compares with
hnn-core in NEURON: somatic spikes (precision, recall, F1 at +/-2, 5 and 10 ms, one-to-one
matching), firing-rate error, somatic v (Pearson r and variance explained, spikes clipped at
-40 mV and unclipped), and every extra output (dendritic v, Ca, dipole); dendritic v also
clipped at -40 mV (``outputs_clipped``), since back-propagating spikes dominate its variance;
the dipole also smoothed as hnn-core presents it (``outputs_smoothed``: a 30 ms Hamming window,
its ``Dipole.smooth`` in the ERP examples), since spike transients dominate the raw one.
"""

from dataclasses import asdict

import numpy as np
import torch

from ..surrogates.layouts import HNN_KINETICS
from .card import machine, output_entries
from .metrics import hamming_smooth, rate_mae, spike_scores, split_trains, v_scores

V_CLIP = -40.0          # mV, spikes clipped here for the somatic v metric
SPIKE_TOLERANCES = (2.0, 5.0, 10.0)
SMOOTHED_OUTPUTS = ("dipole",)
DIPOLE_SMOOTH_MS = 30.0   # hnn-core's ERP examples: dpl.smooth(window_len=30)
CHANNEL_MEANING = {"ampa": "AMPA", "nmda": "NMDA", "gabaa": "GABA_A", "gabab": "GABA_B"}


@torch.no_grad()
def predict_runtime(runtime, drive, batch=256):
    """Free-running outputs of the runtime for trials ``drive`` [n, n_drive_bins, C] (PyNN
    units), each from rest: ({name: [n, n_bins]}, spike bins [n, n_bins] bool)."""
    outs, spikes = {}, []
    for start in range(0, len(drive), batch):
        part = torch.as_tensor(np.asarray(drive[start:start + batch]), dtype=torch.float32)
        out, spk, _ = runtime.run(part.transpose(0, 1).contiguous(),
                                  runtime.initial_state(part.shape[0]))
        for name, value in out.items():
            outs.setdefault(name, []).append(value.t().cpu().numpy())
        spikes.append(spk.t().cpu().numpy())
    return {k: np.concatenate(v) for k, v in outs.items()}, np.concatenate(spikes)


def evaluate_detailed(runtime, data, test_idx, output_dt):
    """Test-set metrics of a detailed-cell surrogate (see the module docstring)."""
    out, spike_bins = predict_runtime(runtime, data["drive"][test_idx])
    duration = data["v"].shape[1] * output_dt
    true = [split_trains(data["spike_times"], data["spike_counts"])[i] for i in test_idx]
    pred = [(np.flatnonzero(row) + 0.5) * output_dt for row in spike_bins]
    result = dict(n_trials=int(len(test_idx)), duration_ms=float(duration),
                  rate_true_hz=float(np.mean([len(t) for t in true]) * 1000.0 / duration),
                  rate_pred_hz=float(np.mean([len(p) for p in pred]) * 1000.0 / duration),
                  rate_mae_hz=rate_mae(true, pred, duration))
    for tol in SPIKE_TOLERANCES:
        result[f"spikes_{tol:g}ms"] = spike_scores(true, pred, tol)
    v_true = data["v"][test_idx]
    result["v"] = v_scores(v_true, out["v"])
    result["v_clipped"] = v_scores(v_true, out["v"], clip=V_CLIP)
    result["outputs"] = {name: v_scores(data["extra"][name][test_idx], out[name])
                         for name in data["extra"]}
    result["outputs_clipped"] = {name: v_scores(data["extra"][name][test_idx], out[name],
                                                clip=V_CLIP)
                                 for name in data["extra"] if name.startswith("v.")}
    result["outputs_smoothed"] = {
        name: dict(v_scores(hamming_smooth(data["extra"][name][test_idx], DIPOLE_SMOOTH_MS,
                                           output_dt),
                            hamming_smooth(out[name], DIPOLE_SMOOTH_MS, output_dt)),
                   window_ms=DIPOLE_SMOOTH_MS)
        for name in SMOOTHED_OUTPUTS if name in data["extra"]}
    return result


REGRESSION_TRIALS = 16
REGRESSION_SEED = 12345


def fresh_trials(config, n_trials, seed):
    """``n_trials`` trials of ``config``'s input generator with its own ``seed``, simulated in
    NEURON now (not cached)."""
    from dataclasses import replace

    from .hnn_dataset import generate_hnn

    small = replace(config, inputs=replace(config.inputs, n_trials=n_trials, seed=seed))
    return generate_hnn(small, cache_dir=False, verbose=False)


def regression_check_detailed(runtime, config, n_trials=REGRESSION_TRIALS,
                              seed=REGRESSION_SEED):
    """Accuracy on a small, seeded, freshly simulated trial set (hnn-core in NEURON, no cache).

    The trials are ``config``'s input settings with ``n_trials`` and ``seed`` replaced, so the
    set is deterministic; the card records the result and ``tests/test_detailed_agreement.py``
    re-runs exactly these trials (hnn-core in NEURON: about 1 s of CPU per L2/3 trial, 2 s per
    L5 trial).
    """
    data = fresh_trials(config, n_trials, seed)
    result = evaluate_detailed(runtime, data, np.arange(n_trials), config.output_dt)
    result.update(seed=seed)
    return result


def data_config_from_card(card):
    """The :class:`.hnn_dataset.HNNDataConfig` a detailed card's ground truth was made with."""
    from .hnn_dataset import HNNDataConfig
    from .hnn_inputs import HNNInputConfig

    gt = card["ground_truth"]
    inputs = {k: tuple(v) if isinstance(v, list) else v for k, v in gt["inputs"].items()}
    drive_dt = card.get("drive_dt")
    return HNNDataConfig(card["name"], HNNInputConfig(**inputs), dt=gt["dt"],
                         settle=gt["settle_ms"], native_dt=card["native_dt"],
                         output_dt=card["output_dt"],
                         drive_dt=None if drive_dt == card["native_dt"] else drive_dt)


def build_detailed_card(config, trained, data, split, command, seed, wall_s, evaluation):
    """The card of a detailed-cell surrogate (the point cells' layout where it applies)."""
    from importlib.metadata import version

    from .card import versions

    layout = config.layout
    scales = trained["norm"][0]
    net = trained["net"]
    channels = list(data["channels"])
    rates = data["spike_counts"] / (config.inputs.duration / 1000.0)
    train_idx = split[0]
    dc = data["drive"][train_idx][..., channels.index("i_inj")]
    card = {
        "format_version": 1,
        "name": config.celltype,
        "description": f"CNN-LSTM surrogate of hnn-core's {layout.cell_name} cell (NEURON)",
        "native_dt": config.native_dt, "output_dt": config.output_dt,
        "substeps": int(round(config.native_dt / config.output_dt)),
        "drive_dt": config.drive_dt or config.native_dt,
        "drive_channels": [
            dict(name=c, units="nA" if c == "i_inj" else "uS",
                 meaning=("somatic injected current" if c == "i_inj" else
                          f"summed {CHANNEL_MEANING[c.split('.')[1]]} conductance of the "
                          f"{c.split('.')[0]} sites"),
                 normalisation=dict(kind="asinh", scale=s, formula="x_norm = asinh(x / scale)"))
            for c, s in zip(channels, scales)],
        "drive_averaging": "mean over each drive bin of the exact drive at the dt points "
                           "(Exp2Syn conductance applied during [t_k, t_k + dt), arrivals at "
                           "t_k included; docs/architecture.md, Time)",
        "outputs": output_entries(trained),
        "recordables": list(output_entries(trained)),
        "spike_threshold": trained["threshold"],
        "spike_rule": "as the point cells': highest bin logit per native step above "
                      "spike_threshold after a step below it; reported time = bin centre",
        "synapse_kinetics": HNN_KINETICS,
        "model": dict(kind="cnn_lstm", **net.config(),
                      n_parameters=int(sum(p.numel() for p in net.parameters()))),
        "contact_sites": dict(
            rule="a channel is the summed conductance of its receptor over the group's sites, "
                 "a distributed contact: every input event reaches each of the group's n "
                 "sites with weight / n",
            groups=[dict(name=g.name, sections=list(g.sections), n_sites=g.n_sites,
                         receptors=list(g.receptors)) for g in layout.groups]),
        "ground_truth": dict(
            simulator="NEURON", interface=f"hnn-core {version('hnn-core')}",
            versions=dict(versions(), hnn_core=version("hnn-core")),
            cell=layout.cell_name, celsius=layout.celsius, dt=config.dt,
            settle_ms=config.settle, inputs=asdict(config.inputs),
            neuron_seconds=float(data["neuron_seconds"]), n_trials=int(len(data["v"])),
            silent_fraction=float(np.mean(rates == 0)),
            median_rate_hz=float(np.median(rates))),
        "domain": {"i_offset": {"kind": "range", "min": float(min(dc.min(), 0.0)),
                                "max": float(max(dc.max(), 0.0)), "units": "nA"}},
        "free": "synaptic weights and delays (the synapse kernels are exact); the morphology, "
                "channels and synapse kinetics are hnn-core's, fixed",
        "initial_values": {"note": "every cell starts from the surrogate's resting state"},
        "training": dict(command=command,
                         train_command_template=f"python -m pyNN_surrogate.train_detailed "
                                                f"{config.celltype}",
                         seed=seed, wall_time_s=round(float(wall_s), 1),
                         training_loop_s=round(float(trained["wall_s"]), 1),
                         steps_done=trained["steps_done"],
                         stopped_by_time=trained["stopped_by_time"],
                         hyperparameters=trained["config"], machine=machine(),
                         split=dict(train=len(split[0]), validation=len(split[1]),
                                    test=len(split[2])),
                         validation=trained["validation"]),
        "evaluation": {"test": evaluation},
        "weights": {"file": "weights.pt", "sha256": None},
    }
    return card
