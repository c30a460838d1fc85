"""Re-evaluate a cell-type package against pyNN.neuron and write the numbers into its card.

Usage::

    python -m pyNN_surrogate.evaluate celltypes/HH_cond_exp
    python -m pyNN_surrogate.evaluate celltypes/HNN_L5Pyramidal

The held-out test trials are regenerated (or loaded from the cache) from the ground-truth
configuration recorded in the card, so the numbers are comparable with the training run's.
Detailed (HNN) cells are compared with hnn-core in NEURON instead of pyNN.neuron.
"""

import argparse
from pathlib import Path


def build_parser():
    """The command-line parser."""
    p = argparse.ArgumentParser(
        prog="python -m pyNN_surrogate.evaluate",
        description="Evaluate a surrogate cell-type package free-running against "
                    "pyNN.neuron on its held-out test trials; update its card.json.")
    p.add_argument("package", type=Path, help="cell-type package directory")
    p.add_argument("--cache-dir", default=None, help="ground-truth cache directory")
    p.add_argument("--stability-ms", type=float, default=100000.0,
                   help="length of the stability runs, ms (default 100000)")
    p.add_argument("--no-fi", action="store_true", help="skip the f-I curve")
    p.add_argument("--dry-run", action="store_true", help="print, do not write the card")
    return p


def main(argv=None):
    """Evaluate a package; returns the evaluation dict."""
    args = build_parser().parse_args(argv)
    import torch

    from .surrogates.package import load_celltype
    from .train import summary
    from .training.card import write_card
    from .training.evaluation import evaluate_package
    from .training.groundtruth import GroundTruthConfig, generate, split_indices

    torch.set_num_threads(1)
    pkg = load_celltype(args.package)
    card = pkg.card
    if "config" not in card["ground_truth"]:          # a detailed cell (hnn-core)
        return evaluate_detailed_package(pkg, args)
    gt = GroundTruthConfig(**card["ground_truth"]["config"])
    data = generate(gt, cache_dir=args.cache_dir)
    split_seed = card["training"].get("split", {}).get("seed", gt.seed)
    _, _, test_idx = split_indices(len(data["v"]), seed=split_seed)
    ev = evaluate_package(pkg, data, test_idx, gt, gt.cell_spec(),
                          stability_ms=args.stability_ms, with_fi=not args.no_fi)
    card["evaluation"] = ev
    card["initial_values"]["v_rest"] = ev["v_rest_mv"]
    print(summary(card))
    if not args.dry_run:
        write_card(pkg.path, card)
    return ev


def evaluate_detailed_package(pkg, args):
    """The test and regression numbers of a detailed (HNN) cell's package."""
    from .train_detailed import summary
    from .training.card import write_card
    from .training.detailed import (data_config_from_card, evaluate_detailed,
                                    regression_check_detailed)
    from .training.groundtruth import split_indices
    from .training.hnn_dataset import generate_hnn

    card = pkg.card
    config = data_config_from_card(card)
    data = generate_hnn(config, cache_dir=args.cache_dir)
    _, _, test_idx = split_indices(len(data["v"]), seed=config.inputs.seed)
    runtime = pkg.runtime("cpu")
    card["evaluation"] = {"test": evaluate_detailed(runtime, data, test_idx, config.output_dt),
                          "regression": regression_check_detailed(runtime, config)}
    print(summary(card))
    if not args.dry_run:
        write_card(pkg.path, card)
    return card["evaluation"]


if __name__ == "__main__":
    main()
