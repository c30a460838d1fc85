"""Train a surrogate for a PyNN standard cell type and write its cell-type package.

Usage::

    python -m pyNN_surrogate.train HH_cond_exp [--minutes 50] [--seed 0] [--out DIR]

The pipeline is: ground truth in pyNN.neuron (cached) -> training (truncated BPTT, model
selection free-running on validation trials) -> evaluation on held-out test trials, 100 s
stability runs and the f-I curve -> ``<out>/<CellType>/{card.json, weights.pt}``.
"""

import argparse
import shlex
import sys
import time
from dataclasses import replace
from pathlib import Path

DEFAULT_OUT = Path(__file__).resolve().parent.parent / "celltypes"


def parse_param(text):
    """Parse ``name=value`` into ``(name, float)``."""
    name, _, value = text.partition("=")
    if not name or not value:
        raise argparse.ArgumentTypeError(f"expected name=value, got {text!r}")
    return name.strip(), float(value)


def build_parser():
    """The command-line parser."""
    p = argparse.ArgumentParser(
        prog="python -m pyNN_surrogate.train",
        description="Train a CNN-LSTM surrogate of a pyNN.neuron standard cell type and "
                    "write celltypes/<CellType>/{card.json,weights.pt}.")
    p.add_argument("celltype", help="PyNN standard cell type, e.g. HH_cond_exp")
    p.add_argument("--minutes", type=float, default=50.0,
                   help="wall-clock cap on the training loop (default 50); the run is "
                        "reproducible only if --steps finish first")
    p.add_argument("--steps", type=int, default=90000,
                   help="optimiser steps (cosine schedule length, default 90000)")
    p.add_argument("--seed", type=int, default=0, help="training seed (default 0)")
    p.add_argument("--gt-seed", type=int, default=1, help="ground-truth input seed")
    p.add_argument("--trials", type=int, default=3000,
                   help="ground-truth trials (default 3000)")
    p.add_argument("--duration", type=float, default=2000.0, help="trial length, ms")
    p.add_argument("--native-dt", type=float, default=0.5, help="native step, ms (0.5)")
    p.add_argument("--output-dt", type=float, default=0.1, help="output bin, ms (0.1)")
    p.add_argument("--drive-dt", type=float, default=None,
                   help="drive averaging bin, ms (default: the native step); the network "
                        "sees native_dt/drive_dt bins per native step")
    p.add_argument("--default-tau-fraction", type=float, default=0.7,
                   help="fraction of ground-truth trials at the default synaptic time "
                        "constants (default 0.7)")
    p.add_argument("--current-max", type=float, default=4.0,
                   help="largest DC/step current drawn, x the cell's current scale "
                        "(default 4)")
    p.add_argument("--driven-g", type=float, nargs=2, default=(0.03, 1.0),
                   metavar=("LO", "HI"),
                   help="mean excitatory conductance range of driven trials, x g_leak "
                        "(default 0.03 1.0)")
    p.add_argument("--stationary-fraction", type=float, default=0.0,
                   help="fraction of ground-truth trials with constant input rates, half of "
                        "them without inhibition (default 0)")
    p.add_argument("--current-only-fraction", type=float, default=0.0,
                   help="fraction of ground-truth trials with injected current and no "
                        "synaptic input (default 0)")
    p.add_argument("--synaptic-only-repeats", type=int, default=None, metavar="N",
                   help="times each training trial without injected current appears per "
                        "epoch (default 1)")
    p.add_argument("--lr", type=float, default=None, help="peak learning rate")
    p.add_argument("--warmup", type=int, default=None, help="warm-up steps")
    p.add_argument("--chunk", type=int, default=None, help="TBPTT chunk, native steps")
    p.add_argument("--kernel", type=int, default=None, help="conv kernel, native steps")
    p.add_argument("--conv-channels", type=int, default=None,
                   help="channels of the causal convolution feeding the LSTM (default 32)")
    p.add_argument("--pos-weight", type=float, default=None, help="BCE spike pos_weight")
    p.add_argument("--window-weight", type=float, default=None,
                   help="weight of the timing-tolerant (windowed) spike loss (default 0: off)")
    p.add_argument("--window-steps", type=int, default=None,
                   help="native steps per window of that loss (default 4)")
    p.add_argument("--feedback", action="store_true", default=None,
                   help="the network also sees its own spikes of the previous native step "
                        "(teacher-forced in training, closed-loop in use)")
    p.add_argument("--spike-traces", type=float, nargs="+", default=None, metavar="TAU",
                   help="with --feedback: time constants (ms) of exponential traces of the "
                        "network's own spikes, fed back with them (e.g. 20 50 150 500)")
    p.add_argument("--huber-delta", type=float, default=None,
                   help="Huber threshold of the v loss (normalised units; large = MSE)")
    p.add_argument("--clipped-v-weight", type=float, default=None,
                   help="share of the v loss taken on v clipped at the cell's clip level "
                        "(default 0: off)")
    p.add_argument("--spike-weight", type=float, default=None, help="spike loss weight")
    p.add_argument("--ema", type=float, default=None,
                   help="decay of a moving average of the weights used for validation and "
                        "the saved model (e.g. 0.999; default off)")
    p.add_argument("--param", type=parse_param, action="append", default=[],
                   metavar="NAME=VALUE", help="non-default cell parameter (repeatable)")
    p.add_argument("--eval-every", type=int, default=5000,
                   help="validate every N steps (default 5000)")
    p.add_argument("--batch", type=int, default=16, help="trials per batch")
    p.add_argument("--hidden", type=int, default=64, help="LSTM hidden units")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT,
                   help=f"directory receiving <CellType>/ (default {DEFAULT_OUT})")
    p.add_argument("--name", default=None, help="package name (default: the cell type)")
    p.add_argument("--cache-dir", default=None, help="ground-truth cache directory")
    p.add_argument("--gt-workers", type=int, default=1,
                   help="NEURON processes run at once for the ground truth (default 1)")
    p.add_argument("--stability-ms", type=float, default=100000.0,
                   help="length of the stability runs, ms (default 100000)")
    p.add_argument("--no-fi", action="store_true", help="skip the f-I curve")
    p.add_argument("--init-from", type=Path, default=None, metavar="PACKAGE_DIR",
                   help="warm start: fine-tune this trained package of the cell type (its "
                        "network shape and normalisation are kept)")
    p.add_argument("--conditioned", action="store_true",
                   help="train a parameter-conditioned surrogate: the cell type's intrinsic "
                        "parameters (see training/celltypes.py) are drawn per trial and "
                        "become inputs of the network")
    p.add_argument("--condition-range", nargs=3, action="append", default=[],
                   metavar=("NAME", "MIN", "MAX"),
                   help="with --conditioned: train NAME over MIN..MAX (PyNN units) instead "
                        "of the cell type's declared range; repeatable")
    p.add_argument("--cell-frames", action="store_true",
                   help="with --conditioned: feed the network the drive and v in each cell's "
                        "frame (IF cells: drive over the leak conductance, v relative to "
                        "v_rest over the gap to v_thresh; see surrogates/conditioning.py)")
    p.add_argument("--film", action="store_true",
                   help="with --conditioned: the conditions also scale and shift the "
                        "convolution's features (feature-wise linear modulation)")
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    p.add_argument("--workers", type=int, default=1,
                   help="threads sharing each training batch (data parallelism; 2 uses both "
                        "cores of a 2-core machine with --threads 1; default 1)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    return p


def main(argv=None):
    """Run the training pipeline; returns the package directory."""
    args = build_parser().parse_args(argv)
    t_start = time.perf_counter()
    import torch

    from .surrogates.conditioning import cell_frames, normalise_conditions
    from .surrogates.package import load_celltype
    from .training.card import build_card, cell_parameters, write_card, write_package
    from .training.celltypes import get_cell_spec
    from .training.evaluation import evaluate_package
    from .training.groundtruth import GroundTruthConfig, extra_outputs, generate, split_indices
    from .training.loop import TrainConfig, train

    torch.set_num_threads(args.threads)
    cell = get_cell_spec(args.celltype)
    if args.condition_range and not args.conditioned:
        raise SystemExit("--condition-range needs --conditioned")
    try:
        ranges = tuple((name, float(lo), float(hi)) for name, lo, hi in args.condition_range)
    except ValueError as error:
        raise SystemExit(f"--condition-range: MIN and MAX must be numbers ({error})") from error
    params = dict(args.param)
    for name in params:
        if name in cell.free or name == cell.current_param:
            raise SystemExit(f"--param {name}: {name} is free in the surrogate's domain "
                             "and needs no separate training")
        if args.conditioned and name in {c.name for c in cell.conditioned}:
            raise SystemExit(f"--param {name}: {name} is an input of the conditioned "
                             "surrogate")
    if args.cell_frames and not args.conditioned:
        raise SystemExit("--cell-frames needs --conditioned")
    if args.film and not args.conditioned:
        raise SystemExit("--film needs --conditioned")
    if args.conditioned and not cell.conditioned:
        raise SystemExit(f"--conditioned: no conditioned parameters are declared for "
                         f"{args.celltype}")
    if args.spike_traces and not args.feedback:
        raise SystemExit("--spike-traces needs --feedback")
    if args.spike_traces and min(args.spike_traces) <= 0:
        raise SystemExit(f"--spike-traces: time constants must be positive, got "
                         f"{args.spike_traces}")
    if args.workers < 1:
        raise SystemExit(f"--workers must be >= 1, got {args.workers}")
    if args.conv_channels is not None and args.conv_channels < 1:
        raise SystemExit(f"--conv-channels must be >= 1, got {args.conv_channels}")
    if args.synaptic_only_repeats is not None and args.synaptic_only_repeats < 1:
        raise SystemExit("--synaptic-only-repeats must be >= 1, got "
                         f"{args.synaptic_only_repeats}")
    if args.clipped_v_weight is not None and not 0.0 <= args.clipped_v_weight <= 1.0:
        raise SystemExit(f"--clipped-v-weight must be in [0, 1], got {args.clipped_v_weight}")
    drive_dt = args.drive_dt if args.drive_dt is not None else args.native_dt
    per_step = args.native_dt / drive_dt
    if abs(per_step - round(per_step)) > 1e-6:
        raise SystemExit(f"--drive-dt {drive_dt} must divide --native-dt {args.native_dt}")
    gt = GroundTruthConfig(celltype=args.celltype, n_trials=args.trials,
                           duration=args.duration, seed=args.gt_seed, native_dt=args.native_dt,
                           output_dt=args.output_dt, drive_dt=drive_dt,
                           p_default_tau=args.default_tau_fraction,
                           current_max=args.current_max, driven_g=tuple(args.driven_g),
                           p_stationary=args.stationary_fraction,
                           p_current_only=args.current_only_fraction,
                           conditioned=args.conditioned, cell_params=params,
                           condition_ranges=ranges)
    try:
        cell = gt.cell_spec()                  # with the --condition-range ranges
    except ValueError as error:
        raise SystemExit(f"--condition-range: {error}") from error
    if args.cell_frames and cell.card_frames() is None:
        raise SystemExit(f"--cell-frames: {args.celltype} declares no cell frames over its "
                         "conditioned parameters")
    if not args.cell_frames:
        cell = replace(cell, frame_drive={}, frame_v=())
    if ranges:                                 # the card's checks run the reference cell
        reference = cell_parameters(gt)
        for c in cell.conditioned:
            if not c.lo <= reference[c.name] <= c.hi:
                raise SystemExit(f"--condition-range: the range of {c.name} ({c.lo} to "
                                 f"{c.hi} {c.units}) must hold the reference cell's value "
                                 f"{reference[c.name]:g}, which the card's stability and "
                                 "f-I checks run")
    data = generate(gt, cache_dir=args.cache_dir, verbose=not args.quiet,
                    workers=args.gt_workers)
    data["extra"] = extra_outputs(data)       # the cell type's auxiliary outputs, if any
    train_idx, val_idx, test_idx = split_indices(len(data["v"]), seed=args.gt_seed)
    extra = {k: getattr(args, k) for k in ("lr", "warmup", "chunk", "kernel", "conv_channels",
                                              "pos_weight", "huber_delta", "spike_weight", "ema",
                                              "window_weight", "window_steps", "feedback",
                                              "clipped_v_weight", "spike_traces",
                                              "synaptic_only_repeats", "film")
             if getattr(args, k) is not None}
    init = None
    if args.init_from is not None:
        from .training.warm_start import load_warm_start
        try:
            init, shape = load_warm_start(args.init_from, cell, gt)
        except ValueError as error:
            raise SystemExit(f"--init-from: {error}") from error
        extra.update(shape)                      # the package's network shape
    cfg = TrainConfig(steps=args.steps, minutes=args.minutes, seed=args.seed,
                      batch=min(args.batch, len(train_idx)), eval_every=args.eval_every,
                      workers=args.workers,
                      **{"hidden": args.hidden, **extra})
    conditions = frames = None
    if args.conditioned:
        entries = [c.card_entry() for c in cell.conditioned]
        values = {e["name"]: data["params"][:, j] for j, e in enumerate(entries)}
        conditions = normalise_conditions(entries, values, len(data["params"]))
        if args.cell_frames:
            frames = cell_frames(cell.card_frames(), cell_parameters(gt), values,
                                 len(data["params"]), cell.drive_channels)
    trained = train(data, train_idx, val_idx, cfg, gt.output_dt, cell.v_clip,
                    progress=not args.quiet, drive_per_step=int(round(per_step)),
                    conditions=conditions, init=init, frames=frames)
    command = "python -m pyNN_surrogate.train " + " ".join(
        shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv))
    card = build_card(cell, gt, trained, data, train_idx, command, args.seed,
                      time.perf_counter() - t_start, float(data["neuron_seconds"]))
    card["training"]["split"] = dict(train=len(train_idx), validation=len(val_idx),
                                     test=len(test_idx), seed=args.gt_seed)
    if init is not None:
        card["training"]["initialised_from"] = init["source"]
    out = write_package(args.out / (args.name or args.celltype), card, trained["net"].state_dict())
    if not args.quiet:
        print(f"package written to {out}; evaluating ...")
    pkg = load_celltype(out)
    card["evaluation"] = evaluate_package(pkg, data, test_idx, gt, cell,
                                          stability_ms=args.stability_ms,
                                          with_fi=not args.no_fi)
    card["initial_values"]["v_rest"] = card["evaluation"]["v_rest_mv"]
    card["training"]["wall_time_s"] = round(time.perf_counter() - t_start, 1)
    write_card(out, card)
    if not args.quiet:
        print(summary(card))
    return out


def summary(card):
    """One-paragraph text summary of a card's evaluation."""
    ev = card.get("evaluation", {})
    t = ev.get("test", {})
    if not t:
        return f"{card['name']}: not evaluated"
    s2, s10 = t["spikes_2ms"], t["spikes_10ms"]
    st = ev.get("stability", {})
    lines = [
        f"{card['name']} (test: {t['n_trials']} trials x {t['duration_ms']:.0f} ms, "
        f"free-running)",
        f"  spikes +/-2 ms  P {s2['precision']:.3f} R {s2['recall']:.3f} F1 {s2['f1']:.3f}",
        f"  spikes +/-10 ms P {s10['precision']:.3f} R {s10['recall']:.3f} F1 {s10['f1']:.3f}",
        f"  rate MAE {t['rate_mae_hz']:.2f} Hz (mean rate {t['rate_true_hz']:.1f} Hz)",
        f"  v r {t['v']['r']:.3f} (VE {t['v']['variance_explained']:.3f}); clipped r "
        f"{t['v_clipped']['r']:.3f} (VE {t['v_clipped']['variance_explained']:.3f})",
    ]
    if "parameter_sets" in ev:
        ps = ev["parameter_sets"]
        med, worst = ps["median"], ps["worst_decile"]
        lines.append(f"  {ps['n_sets']} held-out parameter sets x {ps['trials_per_set']} "
                     f"trials: F1 2 ms median {med['f1_2ms']:.3f} (worst decile "
                     f"{worst['f1_2ms']:.3f}), rate MAE median {med['rate_mae_hz']:.2f} Hz "
                     f"(worst decile {worst['rate_mae_hz']:.2f}), clipped r median "
                     f"{med['v_r_clipped']:.3f} (worst decile {worst['v_r_clipped']:.3f})")
    if st:
        z = st['zero_drive']
        lines.append(f"  stability ({st['duration_ms'] / 1000:.0f} s): zero-drive drift "
                     f"{z['max_abs_drift_mv']:.4f} mV (max |v - v_rest| "
                     f"{z.get('max_abs_dev_from_v_rest_mv', float('nan')):.4f} mV); driven "
                     f"finite {st['moderate_drive']['finite']}, return drift "
                     f"{st['moderate_drive']['return_to_rest_drift_mv']:.4f} mV")
    if "fi_curve" in ev:
        fi = ev["fi_curve"]
        lines.append(f"  f-I MAE {fi['mae_hz']:.2f} Hz over {fi.get('duration_ms', 1000):.0f} ms"
                     + (f" (last {fi['tail_ms']:.0f} ms: {fi['tail_mae_hz']:.2f} Hz)"
                        if "tail_mae_hz" in fi else ""))
    for regime in ev.get("steady_drive", []):
        lines.append(f"  steady drive ({regime['epsp_mv']:g} mV EPSPs at "
                     f"{regime['input_rate_hz']:g} Hz): rate {regime['rate_surrogate_hz']:.2f} "
                     f"vs {regime['rate_neuron_hz']:.2f} Hz ({regime['rate_error_pct']:+.0f}%), "
                     f"v sd {regime['v_sd_surrogate_mv']:.2f} vs {regime['v_sd_neuron_mv']:.2f} mV")
    if "regression" in ev:
        rg = ev["regression"]
        lines.append(f"  regression set ({rg['n_trials']} trials, seed {rg['seed']}): F1 2 ms "
                     f"{rg['spikes_2ms']['f1']:.3f}, rate MAE {rg['rate_mae_hz']:.2f} Hz, "
                     f"clipped r {rg['v_clipped']['r']:.3f}")
    lines.append(f"  training wall time {card['training']['wall_time_s']:.0f} s")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
