"""Ground truth for the detailed HNN cells: hnn-core's L5 and L2/3 pyramidal cells in NEURON.

Model spec, builder and runner are kept apart, as in hnn-core:

* **spec** (:mod:`pyNN_surrogate.surrogates.layouts`): a ``CellLayout`` names the hnn-core cell, its contact-site groups (which
  sections, how many sites, which receptors) and its readouts. The surrogate's drive channels
  are ``"<group>.<receptor>"``: the summed conductance (uS) of that receptor over the group's
  sites. **Site rule:** a channel is a distributed contact, every input event reaches all of
  the group's sites with an equal share of its weight, so the channel's conductance
  determines what every site receives (a random choice of site per event would make the
  cell's response a random function of the surrogate's input: docs/detailed_cells.md).
* **builder** (:func:`build_cells`): one hnn-core cell per trial with an ``Exp2Syn`` per
  (site, receptor), HNN's own synapse kinetics (``cell.synapses``), fed by ``VecStim``s.
* **runner** (:func:`simulate`, in this process; :func:`simulate_in_subprocess`, in a fresh
  spawned one): hnn-core's NEURON mechanisms must never share a process with pyNN.neuron's
  (both define ``VecStim``; docs/detailed_cells.md), so callers that also use pyNN.neuron run
  it in a subprocess.

Recorded per trial (sampled every ``dt`` from the trial start, the settling period removed):
soma ``v`` (mV) and spike times (upward crossings of ``spike_threshold`` mV at the soma,
HNN's default 0 mV), ``v`` at the middle of each named dendritic section (mV), ``cai`` (mM)
where the cell has calcium dynamics (L5 only), the current dipole (nAm; hnn-core's raw fAm
x 1e-6, before hnn-core's optional smoothing and scaling), and the conductance of every drive
channel (uS, NEURON's recorded ``g`` of the ``Exp2Syn``s summed per channel).
"""

import numpy as np

from ..surrogates.layouts import (HNN_KINETICS, INHIBITORY, L5_LAYOUT,  # noqa: F401
                                  L23_LAYOUT, RECEPTORS, CellLayout, SiteGroup)


def check_trial(layout, trial):
    """Validate one trial: ``duration`` (ms), ``inputs`` {channel: (times ms, weight uS)} and
    optional somatic current ``current``: (times ms, amplitudes nA), a step function."""
    unknown = set(trial["inputs"]) - set(layout.channels)
    if unknown:
        raise ValueError(f"unknown drive channel(s) {sorted(unknown)}; "
                         f"{layout.cell_name} has {layout.channels}")
    for ch, (times, weight) in trial["inputs"].items():
        t = np.asarray(times, float)
        if weight < 0 or np.any(t < 0) or np.any(t >= trial["duration"]) or np.any(np.diff(t) < 0):
            raise ValueError(f"channel {ch}: weights must be >= 0 and spike times sorted "
                             f"within [0, duration)")


def connect_distributed(source, synapses, weight, delay, section=None):
    """NetCons from ``source`` (a VecStim, or a section's ``_ref_v`` with ``section``) to
    every synapse of a site group, each with ``weight / len(synapses)`` (the site rule)."""
    from neuron import h

    cons = []
    for syn in synapses:
        con = (h.NetCon(source, syn) if section is None
               else h.NetCon(source, syn, sec=section))
        con.weight[0], con.delay = float(weight) / len(synapses), float(delay)
        cons.append(con)
    return cons


def build_cells(layout, trials):
    """Build one hnn-core cell per trial, with its synapses and input sources.

    Every event of a channel reaches each of the group's ``n`` sites with weight / ``n``
    (the site rule, module docstring). Returns a list of dicts (cell, synapses per channel,
    and the NEURON objects that must stay alive while it runs). Needs hnn-core's mechanisms
    loaded.
    """
    from hnn_core.cells_default import pyramidal
    from neuron import h

    built = []
    for trial in trials:
        check_trial(layout, trial)
        cell = pyramidal(layout.cell_name)
        cell.build(sec_name_apical="apical_trunk")          # inserts the dipole mechanism
        secs = cell._nrn_sections
        sites = layout.sites({name: secs[name].L for name in secs})
        syns = {ch: [] for ch in layout.channels}
        for group_name, sec, x in sites:
            group = next(g for g in layout.groups if g.name == group_name)
            for rec in group.receptors:
                syns[f"{group_name}.{rec}"].append(
                    cell.syn_create(secs[sec](x), **cell.synapses[rec]))
        keep = []
        for ch, (times, weight) in trial["inputs"].items():
            vec = h.Vector(np.asarray(times, float) + trial["settle"])
            stim = h.VecStim()
            stim.play(vec)
            keep += [vec, stim]
            keep += connect_distributed(stim, syns[ch], weight, delay=0.0)
        if trial.get("current") is not None:
            times, amps = (np.asarray(a, float) for a in trial["current"])
            clamp = h.IClamp(secs["soma"](0.5))
            clamp.dur = 1e9
            t_vec, a_vec = h.Vector(np.r_[0.0, times + trial["settle"]]), h.Vector(np.r_[0.0, amps])
            a_vec.play(clamp._ref_amp, t_vec, 0)               # step function, no interpolation
            keep += [clamp, t_vec, a_vec]
        built.append(dict(cell=cell, syns=syns, keep=keep))
    return built


def simulate(layout, trials, dt=0.025, settle=200.0, record_conductance=True):
    """Simulate trials (one cell each) in one NEURON run, in this process.

    Parameters
    ----------
    layout : CellLayout
    trials : list of dict
        See :func:`check_trial`; all of one ``duration``.
    dt, settle : float
        Fixed time step and input-free settling time (ms, discarded).
    record_conductance : bool
        Record every synapse's conductance and return the channel sums. Without it the
        drive is computed from the input events (:func:`channel_drive`), which is exact and
        much cheaper.

    Returns
    -------
    dict of arrays [n_trials, n_samples] (``v``, ``v.<section>``, ``ca.<section>``,
    ``dipole``, and one per drive channel), plus ``spikes`` (list of spike-time arrays, ms).
    """
    from hnn_core.network_builder import load_custom_mechanisms
    from neuron import h

    durations = {float(t["duration"]) for t in trials}
    if len(durations) != 1:
        raise ValueError("all trials of one run must have the same duration")
    duration = durations.pop()
    load_custom_mechanisms()
    h.load_file("stdrun.hoc")
    trials = [dict(t, settle=settle) for t in trials]
    built = build_cells(layout, trials)
    records, spike_vecs = [], []
    for b in built:
        secs = b["cell"]._nrn_sections
        rec = {"v": secs["soma"](0.5)._ref_v, "dipole": b["cell"].dpl_ref}
        rec.update({f"v.{s}": secs[s](0.5)._ref_v for s in layout.dendritic_readouts})
        rec.update({f"ca.{s}": secs[s](0.5)._ref_cai for s in layout.calcium_readouts})
        vecs = {k: h.Vector().record(ref, dt) for k, ref in rec.items()}
        if record_conductance:
            vecs.update({f"g:{ch}:{i}": h.Vector().record(syn._ref_g, dt)
                         for ch, syns in b["syns"].items() for i, syn in enumerate(syns)})
        records.append(vecs)
        con = h.NetCon(secs["soma"](0.5)._ref_v, None, sec=secs["soma"])
        con.threshold = layout.spike_threshold
        spike_vecs.append((h.Vector(), con))
        con.record(spike_vecs[-1][0])
    h.dt, h.steps_per_ms, h.celsius = dt, 1.0 / dt, layout.celsius
    h.finitialize()                     # keeps hnn-core's per-section initial v (v0)
    h.continuerun(settle + duration + 2.5 * dt)     # a margin against rounding of t
    i0 = int(round(settle / dt))
    n_samples = int(round(duration / dt)) + 1
    out = {}
    for vecs in records:
        row = {k: np.array(v)[i0:i0 + n_samples] for k, v in vecs.items()}
        short = [k for k, v in row.items() if len(v) != n_samples]
        if short:
            raise RuntimeError(f"NEURON recorded fewer than {n_samples} samples of {short}")
        row["dipole"] = row["dipole"] * 1e-6                          # fAm -> nAm
        for ch in layout.channels if record_conductance else ():
            parts = [row.pop(k) for k in list(row) if k.startswith(f"g:{ch}:")]
            row[ch] = np.sum(parts, axis=0)
        for k, v in row.items():
            out.setdefault(k, []).append(v)
    out = {k: np.stack(v) for k, v in out.items()}
    times = [np.array(vec) - settle for vec, _ in spike_vecs]
    out["spikes"] = [t[(t >= 0) & (t < duration)] for t in times]
    return out


def simulate_in_subprocess(layout, trials, dt=0.025, settle=200.0, record_conductance=True):
    """:func:`simulate` in a fresh spawned process (safe next to pyNN.neuron)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(simulate, layout, trials, dt, settle, record_conductance).result()


INJECTED = "i_inj"       # drive channel of the somatic current (nA), after the site channels
EXP_BLOCK_EXPONENT = 300.0   # longest span (in units of tau) of one closed-form block


def _exp_trace(arrivals, decay):
    """``g_k = decay * g_{k-1} + arrivals_k`` (g_-1 = 0) in closed form, block by block."""
    n = len(arrivals)
    out = np.empty(n)
    rate = -np.log(decay)
    block = max(1, int(EXP_BLOCK_EXPONENT / rate))
    carry = 0.0
    for start in range(0, n, block):
        a = arrivals[start:start + block]
        grow = np.exp(rate * np.arange(len(a)))
        out[start:start + len(a)] = (carry + np.cumsum(a * grow)) / grow
        carry = out[start + len(a) - 1] * decay
    return out


def channel_drive(times, weight, tau1, tau2, dt, n):
    """Exact Exp2Syn drive (uS) of one channel on the ``dt`` grid, ``[n]``: the value NEURON
    applies during step ``[t_k, t_k + dt)``, arrivals at ``t_k`` included (the engine's
    ``exp2`` convention). An event at time ``t`` arrives at the nearest grid point, as
    NEURON's fixed step delivers it."""
    from ..engine.synapses import exp2_factor

    counts = np.bincount(np.rint(np.asarray(times, float) / dt).astype(np.int64),
                         minlength=n)[:n] * float(weight)
    factor = float(exp2_factor(np.array(tau1), np.array(tau2)))
    return factor * (_exp_trace(counts, np.exp(-dt / tau2))
                     - _exp_trace(counts, np.exp(-dt / tau1)))


def resample(layout, raw, trials, dt, native_dt, output_dt, drive_dt=None):
    """Turn :func:`simulate` output into surrogate training data (the point cells' format).

    The drive of a site channel during step ``[t_k, t_k + dt)`` is what NEURON applies then:
    Exp2Syn's ``g`` is assigned in BREAKPOINT, so that is the value recorded at ``t_{k+1}``
    (the engine's ``exp2`` convention). The somatic current is the step function's value at
    ``t_k`` (a change at ``t_k`` included). Drive bins (``drive_dt``, default ``native_dt``)
    average the ``dt`` samples inside them; v and the extra outputs are sampled at the end of
    every ``output_dt`` bin; a spike at ``t`` falls in bin ``floor(t / output_dt)``.

    Returns
    -------
    dict
        ``drive`` [n, n_drive_bins, n_channels] (channels ``layout.channels`` then
        ``"i_inj"``), ``v`` [n, n_bins] (mV), ``extra`` {``v.<section>``, ``ca.<section>``,
        ``dipole``: [n, n_bins]}, ``spike_bins`` [n, n_bins] (uint8), ``spike_times`` (flat)
        and ``spike_counts`` [n].
    """
    from .groundtruth import current_trace

    drive_dt = native_dt if drive_dt is None else drive_dt
    per_drive, per_bin = (int(round(x / dt)) for x in (drive_dt, output_dt))
    n_samples = raw["v"].shape[1]
    n_steps = int(round((n_samples - 1) * dt / native_dt))
    n_bins = n_steps * int(round(native_dt / output_dt))
    n_drive = n_steps * int(round(native_dt / drive_dt))
    n = raw["v"].shape[0]
    t = np.arange(n_samples - 1) * dt
    currents = []
    for trial in trials:
        if trial.get("current") is None:
            currents.append(np.zeros(n_samples - 1))
        else:
            currents.append(current_trace(*(np.asarray(a, float) for a in trial["current"]), t))
    exact = []
    for ch in layout.channels:
        if ch in raw:                   # recorded: NEURON applies during a step what it
            exact.append(np.asarray(raw[ch], np.float64)[:, 1:])     # records at its end
            continue
        k = HNN_KINETICS[ch.split(".")[1]]
        exact.append(np.stack([
            channel_drive(*trial["inputs"][ch], k["tau1"], k["tau2"], dt, n_samples - 1)
            if ch in trial["inputs"] else np.zeros(n_samples - 1) for trial in trials]))
    exact.append(np.stack(currents))
    drive = np.stack([x[:, :n_drive * per_drive].reshape(n, n_drive, per_drive).mean(-1)
                      for x in exact], axis=-1).astype(np.float32)
    end_of_bins = slice(per_bin, (n_bins + 1) * per_bin, per_bin)
    extra = {k: raw[k][:, end_of_bins].astype(np.float32) for k in layout.readouts}
    bins = np.zeros((n, n_bins), np.uint8)
    for i, st in enumerate(raw["spikes"]):
        b = np.floor(np.asarray(st) / output_dt + 1e-6).astype(int)
        bins[i, b[b < n_bins]] = 1
    counts = np.array([len(s) for s in raw["spikes"]])
    flat = np.concatenate(raw["spikes"]) if n else np.zeros(0)
    return dict(drive=drive, v=raw["v"][:, end_of_bins].astype(np.float32), extra=extra,
                spike_bins=bins, spike_times=flat, spike_counts=counts,
                channels=layout.channels + (INJECTED,))


def exp2_conductance(times, weight, tau1, tau2, t):
    """Conductance of NEURON's ``Exp2Syn`` (peak-normalised difference of exponentials) at
    times ``t`` for input events whose kernels start at ``times``.

    In :func:`simulate` (hnn-core's ``VecStim``, delay 0, fixed step) the kernel of an event at
    a grid time ``t_e`` starts one step later, at ``t_e + dt`` (measured; the kernel is 0 at
    its start, so which side of ``t`` counts does not matter)."""
    tp = tau1 * tau2 / (tau2 - tau1) * np.log(tau2 / tau1)
    factor = 1.0 / (np.exp(-tp / tau2) - np.exp(-tp / tau1))
    s = t[:, None] - np.asarray(times, float)[None, :]
    on = s > 1e-9
    kern = np.where(on, np.exp(-np.where(on, s, 0) / tau2) - np.exp(-np.where(on, s, 0) / tau1), 0)
    return weight * factor * kern.sum(1)
