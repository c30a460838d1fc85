"""Warm starts: fine-tune a trained surrogate package to new ground truth.

A surrogate for other intrinsic parameters of the same cell type (an on-demand parameter set,
say) starts from the shipped package's weights instead of from scratch. The package must
match the new data in everything the weights depend on: drive channels, native, output and
drive steps, conditioning, and the network's shape (taken from the package's card).
"""

from pathlib import Path

import torch


def load_warm_start(path, cell, config):
    """The ``init`` of :func:`.loop.train` and the network shape, from a package directory.

    Parameters
    ----------
    path : path-like
        Package directory (``card.json``, ``weights.pt``).
    cell : CellSpec
        The cell type being trained.
    config : GroundTruthConfig
        The new data's settings.

    Returns
    -------
    init : dict
        ``state_dict``, ``norm`` (scales, v_offset, v_scale), ``extra_norm`` (of the other
        outputs) and ``source`` (name, path and weights' SHA-256, for the card).
    shape : dict
        ``conv_channels``, ``kernel``, ``hidden``, ``feedback`` of the package's network.

    Raises
    ------
    ValueError
        When the package does not match (the message says in what).
    """
    from ..surrogates.package import load_celltype

    pkg = load_celltype(Path(path))
    card = pkg.card
    channels = tuple(ch["name"] for ch in card["drive_channels"])
    checks = [("cell type", card["name"].split("-")[0], config.celltype),
              ("drive channels", channels, tuple(cell.drive_channels)),
              ("native_dt", float(card["native_dt"]), float(config.native_dt)),
              ("output_dt", float(card["output_dt"]), float(config.output_dt)),
              ("drive_dt", float(card.get("drive_dt") or card["native_dt"]),
               float(config.drive_bin)),
              ("conditioning", bool(card.get("conditioning")), bool(config.conditioned)),
              ("extra outputs", list(card["outputs"])[1:],
               [name for name, _ in cell.aux_outputs])]
    for what, have, want in checks:
        if have != want:
            raise ValueError(f"cannot warm-start from {pkg.path}: its {what} is {have!r}, the "
                             f"new surrogate's is {want!r}")
    model = card["model"]
    state = torch.load(pkg.path / card["weights"]["file"], map_location="cpu",
                       weights_only=True)
    norm = ([float(ch["normalisation"]["scale"]) for ch in card["drive_channels"]],
            float(card["outputs"]["v"]["offset"]), float(card["outputs"]["v"]["scale"]))
    shape = dict(conv_channels=int(model["conv_channels"]), kernel=int(model["kernel"]),
                 hidden=int(model["hidden"]), feedback=bool(model.get("feedback", False)))
    extra_norm = {name: (float(o["offset"]), float(o["scale"]), o.get("transform"))
                  for name, o in list(card["outputs"].items())[1:]}
    source = dict(name=card["name"], path=str(pkg.path), sha256=card["weights"]["sha256"])
    return dict(state_dict=state, norm=norm, extra_norm=extra_norm, source=source), shape
