"""TEST DOUBLE of a surrogate runtime (not a cell type).

A deterministic linear filter implementing the runtime contract of
docs/architecture.md: per native step

    v <- v + (native_dt / tau_m) * (v_rest - v + gain_e*g_exc - gain_i*g_inh + r_in*i_inj)

output bins linearly interpolate v across the step; a bin "spikes" when v crosses
``threshold`` upwards, after which v is reset to ``v_reset`` at the end of the step.
It also outputs the step-averaged drive it received (``"drive_<channel>"``, repeated
per bin) so tests can check what the engine fed it.
"""

import torch


class FakeRuntime:
    def __init__(self, native_dt=0.5, output_dt=0.1, device="cpu", v_rest=-65.0,
                 tau_m=10.0, gain_e=2000.0, gain_i=2000.0, r_in=100.0, threshold=-50.0,
                 v_reset=-70.0, channels=("g_exc", "g_inh", "i_inj")):
        self.native_dt, self.output_dt = native_dt, output_dt
        self.substeps = int(round(native_dt / output_dt))
        self.drive_channels = tuple(channels)
        self.recordables = ("v",) + tuple("drive_" + c for c in channels)
        self.device = torch.device(device)
        self.v_rest, self.tau_m = v_rest, tau_m
        self.gains = {"g_exc": gain_e, "g_inh": -gain_i, "i_inj": r_in, "v_jump": tau_m}
        self.threshold, self.v_reset = threshold, v_reset
        self.calls = 0

    def initial_state(self, n_cells):
        return (torch.full((n_cells,), self.v_rest, device=self.device),)

    def run(self, drive, state):
        self.calls += 1
        (v,) = state
        n_steps, n, _ = drive.shape
        vs, sp = [], []
        a = self.native_dt / self.tau_m
        for s in range(n_steps):
            inp = sum(self.gains.get(c, 0.0) * drive[s, :, i] for i, c in enumerate(self.drive_channels))
            v_new = v + a * (self.v_rest - v + inp)
            fr = torch.arange(1, self.substeps + 1, device=self.device, dtype=v.dtype)
            bins = v[None] + (fr / self.substeps)[:, None] * (v_new - v)[None]
            prev = torch.cat([v[None], bins[:-1]], 0)
            cross = (prev < self.threshold) & (bins >= self.threshold)
            vs.append(bins)
            sp.append(cross)
            v = torch.where(cross.any(0), torch.full_like(v_new, self.v_reset), v_new)
        out = {"v": torch.cat(vs, 0)}
        for i, c in enumerate(self.drive_channels):
            out["drive_" + c] = drive[:, :, i].repeat_interleave(self.substeps, 0)
        return out, torch.cat(sp, 0), (v,)
