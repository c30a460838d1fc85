"""Re-evaluate a cell-type package against pyNN.neuron and write the numbers into its card.

Usage::

    python -m pyNN_surrogate.evaluate celltypes/HH_cond_exp

The held-out test trials are regenerated (or loaded from the cache) from the ground-truth
configuration recorded in the card, so the numbers are comparable with the training run's.
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
    from .training.celltypes import get_cell_spec
    from .training.evaluation import evaluate_package
    from .training.groundtruth import GroundTruthConfig, generate, split_indices

    torch.set_num_threads(1)
    pkg = load_celltype(args.package)
    card = pkg.card
    gt = GroundTruthConfig(**card["ground_truth"]["config"])
    data = generate(gt, cache_dir=args.cache_dir)
    split_seed = card["training"].get("split", {}).get("seed", gt.seed)
    _, _, test_idx = split_indices(len(data["v"]), seed=split_seed)
    ev = evaluate_package(pkg, data, test_idx, gt, get_cell_spec(gt.celltype),
                          stability_ms=args.stability_ms, with_fi=not args.no_fi)
    card["evaluation"] = ev
    card["initial_values"]["v_rest"] = ev["v_rest_mv"]
    print(summary(card))
    if not args.dry_run:
        write_card(pkg.path, card)
    return ev


if __name__ == "__main__":
    main()
