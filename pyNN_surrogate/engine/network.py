"""The engine: cell groups, spike sources, projections, current sources, and the
window loop (see docs/architecture.md, "Time" and "Engine").

One window ``[step0, step0 + K)`` (K dt-steps) does, in order:

1. spike sources emit their spikes of the window and route them (exact
   delivery: a source spike can arrive inside the window being computed);
2. for each cell group: read and clear the window's arrivals from its ring
   buffer, integrate the synapse kernels at dt, add current sources and
   ``i_offset``, average the drive over each native step, run the surrogate
   once, record;
3. route the surrogate spikes (arrivals before ``step0 + K`` are moved to
   ``step0 + K``, which can only happen when ``min_delay`` < window).

All time bookkeeping is in integer dt-steps on the host; no tensor value is
read back to the host inside the loop (spike recording compresses every
``compress_every`` windows, see recording.py).
"""

import math

import numpy as np
import torch

from . import errors as E
from .cell_group import CellGroup, SurrogateBatch
from .checks import index_array, per_item_values, steps_of
from .currents import CurrentSource, check_current_params
from .recording import SignalRecorder, SpikeRecorder
from .ringbuffer import RingBuffer
from .routing import Projection
from .sources import KINDS as SOURCE_KINDS, SpikeSourceGroup
from .synapses import check_tau, validate_receptors
from .tsodyks_markram import TsodyksMarkramSpec

SYN_ATTRS = ("weight", "delay", "U", "tau_rec", "tau_facil")
MAX_WINDOW_MS = 50.0              # longest communication window
MAX_WINDOW_CELL_STEPS = 2_000_000  # cells x dt steps held in one window's tensors


class Engine:
    """Batched network of surrogate cells with exact synapses, delays and sources.

    Parameters
    ----------
    dt : float
        Time step (ms) of synapses, delays and sources.
    min_delay : float, optional
        Smallest allowed delay (ms), >= dt; default dt.
    max_delay : float
        Delay range (ms) the ring buffers are sized for at least; longer
        delays are accepted (buffers are sized at build time).
    device : str or torch.device
    seed : int, optional
        Seed of the engine's ``torch.Generator`` (default 0).
    compress_every : int
        Spike recording compresses its device stage every this many windows.
    """

    def __init__(self, dt=0.1, min_delay=None, max_delay=10.0, device="cpu", seed=None,
                 compress_every=32):
        dt = float(dt)
        if not (math.isfinite(dt) and dt > 0):
            raise E.TimeStepError("dt must be > 0, got %r" % dt)
        min_delay = dt if min_delay is None else float(min_delay)
        if not (min_delay >= dt * (1 - 1e-9)):
            raise E.InvalidDelayError("min_delay (%g ms) must be >= dt (%g ms)" % (min_delay, dt))
        if not (float(max_delay) >= min_delay):
            raise E.InvalidDelayError("max_delay (%g) must be >= min_delay (%g)"
                                      % (max_delay, min_delay))
        self.dt, self.min_delay, self.max_delay = dt, min_delay, float(max_delay)
        self.device = torch.device(device)
        self.seed = 0 if seed is None else int(seed)
        self.compress_every = int(compress_every)
        self.generator = torch.Generator(device=self.device)
        self.generator.manual_seed(self.seed)
        self._groups, self._projections, self._currents = [], [], []
        self._signals, self._spikes = {}, {}
        self._step = 0
        self._built = False
        self._batches = []
        self._bin_cache = {}

    # ---------------------------------------------------------------- properties
    @property
    def t(self):
        """Current time (ms)."""
        return self._step * self.dt

    @property
    def quantum(self):
        """Run lengths must be multiples of this (ms): lcm of the native steps."""
        q = 1
        for g in self._groups:
            if isinstance(g, CellGroup):
                q = q * g.native_steps // math.gcd(q, g.native_steps)
        return q * self.dt

    @property
    def window(self):
        """Communication window (ms): see :meth:`_window_steps`."""
        return self._window_steps() * self.dt

    def _window_steps(self):
        """Length of a communication window, in dt steps.

        A spike of a surrogate cell cannot reach any surrogate cell sooner than the shortest
        delay of the projections leaving cell groups, so every cell group can run that long
        without hearing from the others (spike sources do not depend on cells and are routed
        before the cells run). The window is that shortest delay (at least ``min_delay``),
        capped by :data:`MAX_WINDOW_MS` and by :data:`MAX_WINDOW_CELL_STEPS` (the memory of
        per-window tensors), and rounded down to a multiple of :attr:`quantum` (at least one
        quantum).
        """
        quantum = int(round(self.quantum / self.dt))
        n_cells = sum(g.n for g in self._groups if isinstance(g, CellGroup))
        recurrent = [int(p.delay_steps.min()) for p in self._projections
                     if isinstance(self._groups[p.pre_group], CellGroup) and p.n_synapses]
        limit = min(recurrent + [int(MAX_WINDOW_MS / self.dt),
                                 MAX_WINDOW_CELL_STEPS // max(n_cells, 1)])
        limit = max(limit, int(math.floor(self.min_delay / self.dt + 1e-9)))
        return max(quantum, (limit // quantum) * quantum)

    # ---------------------------------------------------------------- building
    def _structural(self, what):
        if self._step != 0:
            raise E.EngineStateError("cannot %s after the simulation has started (t=%g ms); "
                                     "call reset() first" % (what, self.t))

    def _group(self, gid, cell=False):
        if not isinstance(gid, (int, np.integer)) or not 0 <= gid < len(self._groups):
            raise E.UnknownGroupError("no group with id %r" % (gid,))
        g = self._groups[gid]
        if cell and not isinstance(g, CellGroup):
            raise E.EngineValueError("group %d is a spike source, not a cell group" % gid)
        return g

    def add_cell_group(self, runtime, n_cells, receptors, i_offset=0.0, conditions=None):
        """Add ``n_cells`` surrogate cells; returns the group id.

        ``receptors`` is a list of ReceptorSpec; ``i_offset`` (nA) is added to
        the ``i_inj`` channel; ``conditions`` maps each of a conditioned runtime's
        ``condition_names`` to per-cell values.  ``runtime`` must provide ``native_dt``,
        ``output_dt``, ``drive_channels`` (or ``channels``), ``recordables``
        (default ("v",)), ``v_rest``, ``initial_state`` and ``run``.
        """
        self._structural("add a cell group")
        n = int(n_cells)
        if n <= 0:
            raise E.EngineValueError("n_cells must be > 0, got %r" % n_cells)
        for attr in ("native_dt", "output_dt", "v_rest", "initial_state", "run"):
            if not hasattr(runtime, attr):
                raise E.EngineTypeError("runtime lacks attribute %r" % attr)
        channels = tuple(getattr(runtime, "drive_channels", None) or
                         getattr(runtime, "channels", ()))
        native = steps_of(float(runtime.native_dt), self.dt, "native_dt")
        steps_of(float(runtime.native_dt), float(runtime.output_dt), "native_dt (in output_dt)")
        if native <= 0:
            raise E.TimeStepError("native_dt must be > 0")
        taus, rise_taus = validate_receptors(receptors, n)
        for r in receptors:
            if r.channel not in channels:
                raise E.EngineValueError("receptor %r feeds channel %r, but the runtime's drive "
                                         "channels are %s" % (r.name, r.channel, channels))
        i_off = per_item_values(i_offset, n, "i_offset")
        if np.any(i_off != 0) and "i_inj" not in channels:
            raise E.EngineValueError("i_offset given but the runtime has no 'i_inj' channel")
        g = CellGroup(runtime, n, list(receptors), taus, i_off, self.dt, self.device,
                      conditions, rise_taus)
        self._groups.append(g)
        self._built = False
        return len(self._groups) - 1

    def add_spike_source_group(self, kind, n, params):
        """Add ``n`` spike sources of ``kind`` ("poisson", "array", "gamma",
        "poisson_refractory"); returns the group id."""
        self._structural("add a spike source")
        if kind not in SOURCE_KINDS:
            raise E.EngineValueError("unknown spike source kind %r; expected one of %s"
                                     % (kind, SOURCE_KINDS))
        if int(n) <= 0:
            raise E.EngineValueError("n must be > 0, got %r" % n)
        g = SpikeSourceGroup(kind, int(n), dict(params), self.dt, self.device)
        self._groups.append(g)
        self._built = False
        return len(self._groups) - 1

    def _delay_steps(self, delay, n):
        d = np.asarray(delay, dtype=float)
        d = np.full(n, float(d)) if d.ndim == 0 else d.reshape(-1)
        if d.shape != (n,):
            raise E.ShapeMismatchError("delay: expected a scalar or %d values, got %d"
                                       % (n, d.size))
        if not np.all(np.isfinite(d)):
            raise E.InvalidDelayError("delays must be finite")
        if np.any(d < 0):
            raise E.InvalidDelayError("negative delay(s): %s ms" % d[d < 0][:5])
        if np.any(d < self.min_delay * (1 - 1e-9)):
            raise E.InvalidDelayError("delay(s) %s ms shorter than min_delay (%g ms)"
                                      % (d[d < self.min_delay * (1 - 1e-9)][:5], self.min_delay))
        return np.ceil(d / self.dt - 0.5 - 1e-9).astype(np.int64), d

    def _check_tm(self, synapse, n):
        if synapse is None:
            return None
        if not isinstance(synapse, TsodyksMarkramSpec):
            raise E.EngineTypeError("synapse must be None or a TsodyksMarkramSpec")
        tm = {k: per_item_values(getattr(synapse, k), n, k) for k in ("U", "tau_rec", "tau_facil")}
        if np.any((tm["U"] < 0) | (tm["U"] > 1)):
            raise E.EngineValueError("U must be in [0, 1]")
        if np.any(tm["tau_rec"] <= 0) or np.any(tm["tau_facil"] < 0):
            raise E.EngineValueError("tau_rec must be > 0 and tau_facil >= 0")
        return tm

    def add_projection(self, pre_group, pre_idx, post_group, post_idx, receptor_name,
                       weight, delay, synapse=None):
        """Connect ``pre_idx[i]`` of ``pre_group`` to ``post_idx[i]`` of ``post_group``
        on receptor ``receptor_name``; returns the projection id."""
        self._structural("add a projection")
        pre, post = self._group(pre_group), self._group(post_group, cell=True)
        pi = index_array(pre_idx, pre.n, "pre_idx")
        qi = index_array(post_idx, post.n, "post_idx")
        if len(pi) != len(qi):
            raise E.ShapeMismatchError("pre_idx (%d) and post_idx (%d) differ in length"
                                       % (len(pi), len(qi)))
        if receptor_name not in post.rec_index:
            raise E.UnknownReceptorError("group %d has no receptor %r; it has %s"
                                         % (post_group, receptor_name, list(post.rec_index)))
        r = post.rec_index[receptor_name]
        w = per_item_values(weight, len(pi), "weight")
        if post.receptors[r].kind == "conductance" and np.any(w < 0):
            raise E.EngineValueError("conductance weights (uS) must be >= 0")
        D, _ = self._delay_steps(delay, len(pi))
        tm = self._check_tm(synapse, len(pi))
        if tm is not None:
            tm["tau_syn"] = post.bank.tau[qi, r]
        p = Projection(pre_group, post_group, pre.n, post.n, pi, qi, r, w, D, tm, self.dt,
                       self.device)
        p.delays_ms = per_item_values(delay, len(pi), "delay")
        self._projections.append(p)
        self._built = False
        return len(self._projections) - 1

    def add_current_source(self, kind, params, targets):
        """Inject a current source into ``targets`` = [(group, idx), ...]; returns its id."""
        check_current_params(kind, params, self.dt)
        tg = []
        for gid, idx in targets:
            g = self._group(gid, cell=True)
            if g.i_col is None:
                raise E.EngineValueError("group %d has no 'i_inj' drive channel" % gid)
            tg.append((gid, torch.as_tensor(np.unique(index_array(idx, g.n, "idx")),
                                            device=self.device)))
        c = CurrentSource(kind, dict(params), tg, self.dt, self.device)
        c.first_step = self._step       # may be added during a simulation
        self._currents.append(c)
        for gid, idx in tg:
            self._groups[gid].currents.append((c, idx))
        return len(self._currents) - 1

    # ---------------------------------------------------------------- parameters
    def set_group_param(self, group, name, values):
        """Set ``i_offset``, ``tau_<receptor>`` or a conditioned parameter of a cell group,
        or a source parameter."""
        g = self._group(group)
        if isinstance(g, SpikeSourceGroup):
            g.set_params({name: values}, self.t)    # validates before changing anything
            return
        if g.conditions is not None and name in g.conditions:
            g.set_condition(name, values)
            if self._step == 0:
                self._built = False             # rebuilt (from the new rest) at the next run
            else:
                batch = next(b for b in self._batches if group in b.groups)
                batch.update_conditions(group, g.conditions)
        elif name == "i_offset":
            v = per_item_values(values, g.n, "i_offset")
            if np.any(v != 0) and g.i_col is None:
                raise E.EngineValueError("the runtime has no 'i_inj' channel")
            g.set_i_offset(v)
        elif name.startswith("tau_") and name[4:] in g.rec_index:
            r = g.rec_index[name[4:]]
            tau = g.bank.tau.copy()
            tau[:, r] = check_tau(values, g.n, name)
            g.bank.set_tau(tau)
            for p in self._projections:
                if p.post_group == group and p.receptor == r and p.tm is not None:
                    p.tm["tau_syn"] = tau[p.post_idx, r]
                    p.build()
        else:
            raise E.EngineValueError("unknown parameter %r for cell group %d; expected "
                                     "'i_offset' or one of %s" % (
                                         name, group, ["tau_" + k for k in g.rec_index]))

    def set_projection_attribute(self, projection, name, values):
        """Set ``weight``, ``delay``, ``U``, ``tau_rec`` or ``tau_facil`` per synapse."""
        if not isinstance(projection, (int, np.integer)) or \
                not 0 <= projection < len(self._projections):
            raise E.UnknownGroupError("no projection with id %r" % (projection,))
        p = self._projections[projection]
        n = p.n_synapses
        if name not in SYN_ATTRS:
            raise E.EngineValueError("unknown projection attribute %r; expected %s"
                                     % (name, SYN_ATTRS))
        if name == "delay":
            D, d = self._delay_steps(values, n)
            if self._step == 0:
                self._built = False      # ring buffers are resized at the next run
            elif D.max(initial=0) + 2 * self._K + 1 > self._groups[p.post_group].ring.slots:
                raise E.InvalidDelayError("delay too long for the ring buffer sized at build "
                                          "time; call reset() first")
            p.delay_steps, p.delays_ms = D, d
            if self._built:
                self._K = min(self._K, self._window_steps())
        elif name == "weight":
            w = per_item_values(values, n, "weight")
            post = self._groups[p.post_group]
            if post.receptors[p.receptor].kind == "conductance" and np.any(w < 0):
                raise E.EngineValueError("conductance weights (uS) must be >= 0")
            p.weight = w
        else:
            if p.tm is None:
                raise E.EngineValueError("projection %d has no Tsodyks-Markram synapses"
                                         % projection)
            spec = TsodyksMarkramSpec(**{k: p.tm[k] for k in ("U", "tau_rec", "tau_facil")})
            setattr(spec, name, values)
            tm = self._check_tm(spec, n)
            tm["tau_syn"] = p.tm["tau_syn"]
            p.tm = tm
        p.build()

    def get_projection_attribute(self, projection, name):
        """Current per-synapse values of a projection attribute (ndarray)."""
        p = self._projections[projection]
        if name == "weight":
            return p.weight.copy()
        if name == "delay":
            return p.delay_steps * self.dt
        return p.tm[name].copy()

    def set_current_source_params(self, source, params):
        """Change the parameters of current source ``source``."""
        c = self._currents[source]
        check_current_params(c.kind, params, self.dt, base=c.params)
        c.set_params(params)

    # ---------------------------------------------------------------- recording
    def record(self, group, variable, idx=None, sampling_interval=None):
        """Record ``variable`` ("spikes", a runtime recordable such as "v",
        "gsyn_exc", "gsyn_inh" or a receptor name) of cells ``idx`` (default all)."""
        g = self._group(group)
        allowed = {"spikes"} | (g.signal_names() if isinstance(g, CellGroup) else set())
        if variable not in allowed:
            raise E.UnknownVariableError("group %d cannot record %r; recordable: %s"
                                         % (group, variable, sorted(allowed)))
        idx = np.unique(index_array(np.arange(g.n) if idx is None else idx, g.n, "idx"))
        if variable == "spikes":
            old = self._spikes.get(group)
            if old is not None and (old._times or old._stage) \
                    and not np.array_equal(old.idx_host, idx):
                raise E.EngineStateError("spikes of group %d already recorded for other cells; "
                                         "read them with clear=True first" % group)
            self._spikes[group] = SpikeRecorder(idx, g.n, self.device, self.compress_every)
            return
        si = self.dt if sampling_interval is None else float(sampling_interval)
        si_steps = steps_of(si, self.dt, "sampling_interval")
        if si_steps <= 0:
            raise E.TimeStepError("sampling_interval must be > 0")
        old = self._signals.get((group, variable))
        if old is not None and old.count and (not np.array_equal(old.idx_host, idx)
                                              or old.si_steps != si_steps):
            raise E.EngineStateError("%r of group %d already recorded with other cells or "
                                     "interval; read it with clear=True first"
                                     % (variable, group))
        res = g.output_dt / self.dt if variable in g.recordables else None
        self._signals[(group, variable)] = SignalRecorder(idx, si_steps, self._step, res,
                                                          self.device)

    def get_spikes(self, group, clear=False):
        """dict cell index -> ndarray of spike times (ms) of the recorded cells."""
        rec = self._spikes.get(group)
        if rec is None:
            raise E.UnknownVariableError("spikes of group %r are not recorded" % (group,))
        out = rec.get()
        if clear:
            rec.clear()
        return out

    def get_signal(self, group, variable, clear=False):
        """(samples [n_samples, n_recorded], recorded cell indices)."""
        rec = self._signals.get((group, variable))
        if rec is None:
            raise E.UnknownVariableError("%r of group %r is not recorded" % (variable, group))
        g = self._groups[group]
        if variable in g.recordables:
            current = g.last.get(variable) if self._built else None
            if current is None and variable == "v":
                current = g.resting_v()
        else:
            current = g.synaptic_signal(variable, g.bank.current_recorded())
        data = rec.get(self._step, current)
        if clear:
            rec.clear(self._step)
        return data, rec.idx_host.copy()

    def get_current_trace(self, source):
        """Current (nA) of a current source at 0, dt, ..., t (last value repeated, as pyNN)."""
        c = self._currents[source]
        tr = torch.cat(c.trace).cpu().numpy() if c.trace else np.zeros(0)
        tr = np.concatenate([np.zeros(c.first_step), tr])
        return np.append(tr, tr[-1] if len(tr) else 0.0)

    # ---------------------------------------------------------------- running
    def _build(self):
        K = self._window_steps()
        self._K = K
        for gid, g in enumerate(self._groups):
            if isinstance(g, CellGroup):
                d = [int(p.delay_steps.max()) for p in self._projections
                     if p.post_group == gid and p.n_synapses]
                d_max = max(d + [int(math.ceil(self.max_delay / self.dt))])
                g.ring = RingBuffer(g.n, len(g.receptors), d_max + 2 * K + 1, self.device)
            else:
                g.set_window(K * self.dt)
        self._batches = self._surrogate_batches()
        self._built = True
        self._reset_state()

    def _surrogate_batches(self):
        """Cell groups sharing one runtime (one cell type) run as one batch: rows in order."""
        batches = {}
        for gid, g in enumerate(self._groups):
            if isinstance(g, CellGroup):
                batch = batches.setdefault(id(g.runtime), SurrogateBatch(g.runtime))
                batch.add(gid, g.n)
        return list(batches.values())

    def _reset_state(self):
        self._step = 0
        self.generator.manual_seed(self.seed)
        for g in self._groups:
            g.reset()
        for batch in self._batches:
            batch.state = batch.initial_state(self._groups)
        for p in self._projections:
            p.reset()
        for c in self._currents:
            c.reset()
            c.first_step = 0
        for rec in self._spikes.values():
            rec.clear()
        for rec in self._signals.values():
            rec.clear(0)

    def reset(self):
        """Back to t = 0: every state (surrogate, synapses, ring buffers, TM,
        sources, current sources) restored and the RNG re-seeded.  Recorded
        data are discarded (read them first); recording settings are kept."""
        if self._built:
            self._reset_state()
        else:
            self._step = 0
            self.generator.manual_seed(self.seed)

    def run_until(self, t_stop):
        """Advance to ``t_stop`` (ms), a multiple of :attr:`quantum` ahead of :attr:`t`."""
        stop = steps_of(float(t_stop), self.dt, "t_stop")
        if stop < self._step:
            raise E.EngineValueError("t_stop (%g ms) is before the current time (%g ms)"
                                     % (t_stop, self.t))
        q = int(round(self.quantum / self.dt))
        if (stop - self._step) % q:
            raise E.TimeStepError("run length %g ms is not a multiple of the surrogates' native "
                                  "step (%g ms)" % (t_stop - self.t, q * self.dt))
        if not self._built:
            self._build()
        for rec in self._signals.values():
            rec.reserve((stop - self._step) // rec.si_steps + 2)
        with torch.no_grad():
            while self._step < stop:
                K = min(self._K, stop - self._step)
                self._window(self._step, K)
                self._step += K

    def _bins(self, g, K):
        """(slot of each output bin within the window, bin-centre offsets in ms)."""
        key = (id(g), K)
        if key not in self._bin_cache:
            nb = K // g.native_steps * int(round(g.native_steps * self.dt / g.output_dt))
            centre = (np.arange(nb) + 0.5) * g.output_dt
            slot = np.minimum(np.floor(centre / self.dt + 1e-9), K - 1).astype(np.int64)
            self._bin_cache[key] = (torch.as_tensor(slot, device=self.device),
                                    torch.as_tensor(centre, dtype=torch.float64,
                                                    device=self.device))
        return self._bin_cache[key]

    def _route_from(self, gid, spikes_t, step0, clamp):
        for p in self._projections:
            if p.pre_group == gid:
                p.route(spikes_t, step0, self._groups[p.post_group].ring, clamp)

    def _window(self, step0, K):
        self._emit_sources(step0, K)
        cur_vals = {id(c): c.values(step0, K, self.generator) for c in self._currents}
        cell_groups = [(gid, g) for gid, g in enumerate(self._groups)
                       if isinstance(g, CellGroup)]
        drives, synaptic = {}, {}
        for gid, g in cell_groups:
            drives[gid], synaptic[gid] = self._group_drive(g, gid, step0, K, cur_vals)
        outputs = self._run_surrogates(drives)
        fired = [(gid, self._collect(gid, g, step0, K, synaptic[gid], *outputs[gid]))
                 for gid, g in cell_groups]
        for gid, S in fired:
            self._route_from(gid, S, step0, clamp=True)

    def _emit_sources(self, step0, K):
        """Spike sources emit the window's spikes, recorded and routed before cells run."""
        for gid, g in enumerate(self._groups):
            if isinstance(g, SpikeSourceGroup):
                S, rec = g.emit(step0, K, self.generator)
                if gid in self._spikes:
                    if rec[0] == "dense":
                        self._spikes[gid].add_dense(rec[1])
                    else:
                        self._spikes[gid].add_events(rec[1], rec[2])
                self._route_from(gid, S, step0, clamp=False)

    def _group_drive(self, g, gid, step0, K, cur_vals):
        """The drive of one cell group over the window, averaged per drive bin.

        Averaging commutes with the receptor-to-channel mix, so the mix and the injected
        currents are applied to the bin means.
        """
        arrivals = g.ring.read_window(step0, K)
        with_recorded = any((gid, var) in self._signals
                            for var in g.signal_names() - set(g.recordables))
        m = g.drive_steps
        if g.bank.all_exp and not with_recorded:
            syn_rec = None
            drive = g.bank.integrate_binned(arrivals, m) @ g.mix        # [K/m, n, C]
        else:
            syn_drive, syn_rec = g.bank.integrate(arrivals, with_recorded)
            drive = syn_drive.view(K // m, m, g.n, -1).mean(1) @ g.mix
        if g.i_col is not None:
            inj = g.i_offset.expand(K // m, g.n).clone()
            for c, idx in g.currents:
                bin_mean = cur_vals[id(c)].view(K // m, m).mean(1)
                inj.index_add_(1, idx, bin_mean[:, None].expand(K // m, len(idx)))
            drive[:, :, g.i_col] += inj
        return drive.to(torch.float32), syn_rec

    def _run_surrogates(self, drives):
        """One surrogate call per runtime: the groups sharing it are run as one batch."""
        outputs = {}
        for batch in self._batches:
            if len(batch.groups) == 1:
                out, spikes, batch.state = batch.runtime.run(drives[batch.groups[0]],
                                                             batch.state)
            else:
                drive = torch.cat([drives[gid] for gid in batch.groups], dim=1)
                out, spikes, batch.state = batch.runtime.run(drive, batch.state)
            for gid, (start, stop) in zip(batch.groups, batch.rows):
                outputs[gid] = ({name: value[:, start:stop] for name, value in out.items()},
                                spikes[:, start:stop])
        return outputs

    def _collect(self, gid, g, step0, K, syn_rec, out, spikes):
        """Record a cell group's window and return its spikes as [n, K] per dt slot."""
        for var in g.recordables:
            if var not in out:
                continue
            prev = g.last.get(var)
            if prev is None:
                prev = out[var][0]
            rec = self._signals.get((gid, var))
            if rec is not None:
                rec.sample_window(step0, K, torch.cat([prev[None].to(out[var].dtype),
                                                       out[var]], 0))
            g.last[var] = out[var][-1]
        for var in g.signal_names() - set(g.recordables):
            rec = self._signals.get((gid, var))
            if rec is not None:
                rec.sample_window(step0, K, g.synaptic_signal(var, syn_rec))
        slot, centre = self._bins(g, K)
        if gid in self._spikes:
            self._spikes[gid].add_bins(spikes, centre + step0 * self.dt)
        S = torch.zeros(K, g.n, dtype=torch.float32, device=self.device)
        S.index_add_(0, slot, spikes.to(torch.float32))
        return S.t().contiguous()
