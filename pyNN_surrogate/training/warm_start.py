"""Warm starts: fine-tune a trained surrogate package to new ground truth.

A surrogate for other intrinsic parameters of the same cell type (an on-demand parameter set,
say) starts from the shipped package's weights instead of from scratch. The package must
match the new data in everything the weights depend on: drive channels, native, output and
drive steps, and the network's shape (taken from the package's card).

An unconditioned package may also start a *conditioned* surrogate: the conditioning inputs
join its convolution with zero weights (:func:`with_condition_inputs`), so training starts
from the package's cell and learns how the parameters move it.
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
        outputs), ``new_conditions`` (conditioning inputs the package lacks: 0, or the
        number of the cell type's conditioned parameters when an unconditioned package
        starts a conditioned surrogate) and ``source`` (name, path and weights' SHA-256, for
        the card).
    shape : dict
        ``conv_channels``, ``kernel``, ``hidden``, ``feedback`` (and ``spike_traces``, if
        any) of the package's network.

    Raises
    ------
    ValueError
        When the package does not match (the message says in what).
    """
    from ..surrogates.package import load_celltype

    pkg = load_celltype(Path(path))
    card = pkg.card
    package_conditioned = bool(card.get("conditioning"))
    channels = tuple(ch["name"] for ch in card["drive_channels"])
    checks = [("cell type", card["name"].split("-")[0], config.celltype),
              ("drive channels", channels, tuple(cell.drive_channels)),
              ("native_dt", float(card["native_dt"]), float(config.native_dt)),
              ("output_dt", float(card["output_dt"]), float(config.output_dt)),
              ("drive_dt", float(card.get("drive_dt") or card["native_dt"]),
               float(config.drive_bin)),
              # an unconditioned package may start either kind; a conditioned one only its kind
              ("conditioning", package_conditioned,
               bool(config.conditioned) and package_conditioned),
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
    if model.get("film"):
        shape["film"] = True
    if model.get("spike_traces"):
        shape["spike_traces"] = tuple(float(t) for t in model["spike_traces"])
    extra_norm = {name: (float(o["offset"]), float(o["scale"]), o.get("transform"))
                  for name, o in list(card["outputs"].items())[1:]}
    source = dict(name=card["name"], path=str(pkg.path), sha256=card["weights"]["sha256"])
    new_conditions = (len(cell.conditioned)
                      if config.conditioned and not package_conditioned else 0)
    return dict(state_dict=state, norm=norm, extra_norm=extra_norm, source=source,
                new_conditions=new_conditions), shape


def with_condition_inputs(state_dict, n_drive, n_conditions):
    """A copy of ``state_dict`` whose convolution also takes ``n_conditions`` inputs.

    The network's input frame is drive features, then conditioning inputs, then (with
    feedback) the fed-back spike bins (:func:`.loop.with_conditions`); zero weights for the
    new inputs, inserted after the ``n_drive`` drive features, leave the network's function
    unchanged.
    """
    out = dict(state_dict)
    weight = state_dict["conv.weight"]                       # [channels, frame, kernel]
    zeros = weight.new_zeros(weight.shape[0], n_conditions, weight.shape[2])
    out["conv.weight"] = torch.cat([weight[:, :n_drive], zeros, weight[:, n_drive:]], dim=1)
    return out
