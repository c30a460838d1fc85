"""Train a surrogate of a detailed HNN cell (hnn-core in NEURON) and write its package.

Usage::

    python -m pyNN_surrogate.train_detailed HNN_L5Pyramidal [--trials 1000] [--minutes 60]
        [--seed 0] [--out DIR]

The pipeline: random input trials over the cell's contact-site groups and somatic currents
(:mod:`.training.hnn_inputs`) -> ground truth from hnn-core in NEURON, in spawned processes,
cached (:mod:`.training.hnn_dataset`) -> training (the point cells' loop, with the dendritic
v, Ca and dipole as extra outputs) -> evaluation on held-out test trials, free-running, through
the package's runtime -> ``<out>/<CellType>/{card.json, weights.pt}``.
"""

import argparse
import shlex
import sys
import time
from pathlib import Path

from .surrogates.layouts import LAYOUTS

DEFAULT_OUT = Path(__file__).resolve().parent.parent / "celltypes"


def build_parser():
    """The command-line parser."""
    p = argparse.ArgumentParser(
        prog="python -m pyNN_surrogate.train_detailed",
        description="Train a CNN-LSTM surrogate of a detailed HNN cell (hnn-core in NEURON) "
                    "and write celltypes/<CellType>/{card.json,weights.pt}.")
    p.add_argument("celltype", choices=sorted(LAYOUTS), help="detailed cell type")
    p.add_argument("--trials", type=int, default=1000, help="ground-truth trials (1000)")
    p.add_argument("--duration", type=float, default=1000.0, help="trial length, ms (1000)")
    p.add_argument("--gt-seed", type=int, default=11, help="ground-truth input seed (11)")
    p.add_argument("--gt-workers", type=int, default=1, help="NEURON processes at once (1)")
    p.add_argument("--cache-dir", default=None, help="ground-truth cache directory")
    p.add_argument("--minutes", type=float, default=60.0,
                   help="wall-clock cap on the training loop (default 60)")
    p.add_argument("--steps", type=int, default=40000, help="optimiser steps (40000)")
    p.add_argument("--seed", type=int, default=0, help="training seed (0)")
    p.add_argument("--hidden", type=int, default=64, help="LSTM hidden units (64)")
    p.add_argument("--chunk", type=int, default=200, help="TBPTT chunk, native steps (200)")
    p.add_argument("--batch", type=int, default=16, help="trials per batch (16)")
    p.add_argument("--eval-every", type=int, default=5000, help="validate every N steps")
    p.add_argument("--ema", type=float, default=0.999, help="weight moving average (0.999)")
    p.add_argument("--lr", type=float, default=1e-3, help="peak learning rate (1e-3)")
    p.add_argument("--no-feedback", action="store_true",
                   help="the network does not see its own spikes")
    p.add_argument("--spike-traces", type=float, nargs="+", default=(), metavar="TAU",
                   help="time constants (ms) of exponential traces of the network's own "
                        "spikes, fed back with them (e.g. 20 50 150 500; default none)")
    p.add_argument("--threads", type=int, default=1, help="torch threads (1)")
    p.add_argument("--workers", type=int, default=1,
                   help="threads sharing each training batch (data parallelism; 2 uses both "
                        "cores of a 2-core machine with --threads 1; default 1)")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT,
                   help=f"directory receiving <CellType>/ (default {DEFAULT_OUT})")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    return p


def main(argv=None):
    """Run the pipeline; returns the package directory."""
    args = build_parser().parse_args(argv)
    t_start = time.perf_counter()
    import torch

    from .surrogates.package import load_celltype
    from .training.card import write_card, write_package
    from .training.detailed import (V_CLIP, build_detailed_card, evaluate_detailed,
                                    regression_check_detailed)
    from .training.groundtruth import split_indices
    from .training.hnn_dataset import HNNDataConfig, generate_hnn
    from .training.hnn_inputs import HNNInputConfig
    from .training.loop import TrainConfig, train

    if args.workers < 1:
        raise SystemExit(f"--workers must be >= 1, got {args.workers}")
    if args.spike_traces and args.no_feedback:
        raise SystemExit("--spike-traces needs the spike feedback that --no-feedback turns off")
    if any(tau <= 0 for tau in args.spike_traces):
        raise SystemExit(f"--spike-traces must be positive, got {args.spike_traces}")
    torch.set_num_threads(args.threads)
    config = HNNDataConfig(args.celltype, HNNInputConfig(n_trials=args.trials,
                                                         duration=args.duration,
                                                         seed=args.gt_seed))
    data = generate_hnn(config, cache_dir=args.cache_dir, workers=args.gt_workers,
                        verbose=not args.quiet)
    split = split_indices(len(data["v"]), seed=args.gt_seed)
    cfg = TrainConfig(steps=args.steps, minutes=args.minutes, seed=args.seed,
                      batch=min(args.batch, len(split[0])), eval_every=args.eval_every,
                      hidden=args.hidden, chunk=args.chunk, ema=args.ema, lr=args.lr,
                      feedback=not args.no_feedback, workers=args.workers,
                      spike_traces=tuple(args.spike_traces))
    trained = train(data, split[0], split[1], cfg, config.output_dt, V_CLIP,
                    progress=not args.quiet)
    command = "python -m pyNN_surrogate.train_detailed " + " ".join(
        shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv))
    out = write_package(args.out / args.celltype,
                        build_detailed_card(config, trained, data, split, command, args.seed,
                                            time.perf_counter() - t_start, {}),
                        trained["net"].state_dict())
    runtime = load_celltype(out).runtime("cpu")
    evaluation = evaluate_detailed(runtime, data, split[2], config.output_dt)
    card = build_detailed_card(config, trained, data, split, command, args.seed,
                               time.perf_counter() - t_start, evaluation)
    card["weights"] = load_celltype(out).card["weights"]
    card["evaluation"]["regression"] = regression_check_detailed(runtime, config)
    write_card(out, card)
    if not args.quiet:
        print(summary(card))
    return out


def summary(card):
    """A short text summary of a detailed card's test evaluation."""
    t = card["evaluation"]["test"]
    lines = [f"{card['name']} (test: {t['n_trials']} trials x {t['duration_ms']:.0f} ms, "
             "free-running)"]
    for tol in ("2", "5", "10"):
        s = t[f"spikes_{tol}ms"]
        lines.append(f"  spikes +/-{tol} ms P {s['precision']:.3f} R {s['recall']:.3f} "
                     f"F1 {s['f1']:.3f}")
    lines.append(f"  rate MAE {t['rate_mae_hz']:.2f} Hz (true {t['rate_true_hz']:.1f}, "
                 f"surrogate {t['rate_pred_hz']:.1f} Hz)")
    lines.append(f"  soma v r {t['v']['r']:.3f}, clipped r {t['v_clipped']['r']:.3f}")
    clipped = t.get("outputs_clipped", {})
    smoothed = t.get("outputs_smoothed", {})
    for name, score in t["outputs"].items():
        lines.append(f"  {name} r {score['r']:.3f} (VE {score['variance_explained']:.3f})"
                     + (f", clipped r {clipped[name]['r']:.3f}" if name in clipped else "")
                     + (f", smoothed ({smoothed[name]['window_ms']:g} ms Hamming) r "
                        f"{smoothed[name]['r']:.3f}" if name in smoothed else ""))
    lines.append(f"  wall time {card['training']['wall_time_s']:.0f} s")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
