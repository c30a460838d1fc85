"""
Single-cell validation: ``python -m pyNN_surrogate.validate --cell CellType``.

Runs :mod:`pyNN_surrogate.validation.cell_protocol_script` (an ordinary PyNN script) on both
backends in subprocesses: the reference (pyNN.neuron) at dt = 0.025 ms, the candidate at
dt = 0.1 ms, both recording v every 0.1 ms; then measures

* the f-I curve (rate over 200-1200 ms for each constant current) and rheobase;
* step-current responses (spike F1 at +/-2 ms, v r with spikes clipped at -40 mV, 0-600 ms);
* divergence against simulated time: free-running cells with identical inputs are compared in
  the last second before each of T = 1, 5, 10, 100 s (up to ``--max-window``; ``--quick``: 1 and
  2 s): spike F1 at +/-2 and +/-10 ms, v r (clipped); the rate error is over [0, T].
"""

import html
import tempfile
from pathlib import Path

import numpy as np

from . import CANDIDATE_COLOUR, EXIT_ERROR, EXIT_FAIL, EXIT_PASS, REFERENCE_COLOUR
from . import metrics as m
from .figures import pyplot, save
from .report import checks_table, fmt, image, key_value_table, write_html, write_metrics
from .tolerances import Tolerances, ToleranceFileError, overall_passed

SCRIPT = Path(__file__).with_name("cell_protocol_script.py")
REFERENCE_DT, CANDIDATE_DT = 0.025, 0.1
WINDOWS_S = (1.0, 5.0, 10.0, 100.0)
FI_WINDOW = (200.0, 1200.0)     # ms
STEP_WINDOW = (0.0, 600.0)      # ms
LOCAL_WINDOW = 1000.0           # ms, "last second before T"
V_CLIP = -40.0


def windows(max_window):
    """Window ends (s): the standard ones up to ``max_window``, plus ``max_window``."""
    return sorted({w for w in WINDOWS_S if w <= max_window} | {float(max_window)})


def load_recordings(run_dir):
    """``{label: neo.Segment}`` of the populations of a protocol run (segment 0)."""
    from .compare import load_block
    from .runner import read_manifest

    manifest = read_manifest(run_dir)
    return {g["key"]: load_block(run_dir, g).segments[0] for g in manifest["groups"]}, manifest


def spike_arrays(segment):
    """Spike times (ms) per cell, ordered by source index."""
    trains = sorted(segment.spiketrains, key=lambda st: st.annotations.get("source_index", 0))
    return [np.asarray(st.rescale("ms").magnitude) for st in trains]


def v_arrays(segment_ref, segment_cand):
    """Aligned v of two segments: times (ms), ref and cand ``[n, n_cells]`` (mV)."""
    sig_ref = segment_ref.filter(name="v")[0]
    sig_cand = segment_cand.filter(name="v")[0]
    return m.align_signals(sig_ref, sig_cand)


def in_window(trains, t0, t1):
    """Spike times in [t0, t1) per cell."""
    return [t[(t >= t0) & (t < t1)] for t in trains]


def rheobase(currents, rates):
    """Smallest current giving a non-zero rate (NaN if none does)."""
    firing = np.flatnonzero(np.asarray(rates) > 0)
    return float(currents[firing[0]]) if len(firing) else float("nan")


def analyse(ref, cand, currents, step_amplitudes, window_ends):
    """Every single-cell metric from the two runs' segments (see the module docstring)."""
    out = {}
    # f-I
    t0, t1 = FI_WINDOW
    rate = lambda trains: np.array([len(t) for t in in_window(trains, t0, t1)]) * 1000 / (t1 - t0)
    out["fi_rates_ref"] = rate(spike_arrays(ref["fi"]))
    out["fi_rates_cand"] = rate(spike_arrays(cand["fi"]))
    out["fi_currents"] = currents
    out["fi_rate_mae_hz"] = float(np.mean(np.abs(out["fi_rates_ref"] - out["fi_rates_cand"])))
    rb_ref, rb_cand = rheobase(currents, out["fi_rates_ref"]), rheobase(currents,
                                                                       out["fi_rates_cand"])
    if np.isnan(rb_ref) and np.isnan(rb_cand):
        out["fi_rheobase_error_na"] = None
    else:
        missing = currents[-1] + (currents[1] - currents[0] if len(currents) > 1 else 0)
        out["fi_rheobase_error_na"] = abs(np.nan_to_num(rb_ref, nan=missing)
                                          - np.nan_to_num(rb_cand, nan=missing))
    out["rheobase_ref_na"], out["rheobase_cand_na"] = rb_ref, rb_cand
    # steps
    s0, s1 = STEP_WINDOW
    steps_ref = in_window(spike_arrays(ref["steps"]), s0, s1)
    steps_cand = in_window(spike_arrays(cand["steps"]), s0, s1)
    out["step_spike_f1_2ms"] = m.spike_scores(steps_ref, steps_cand, 2.0)["f1"]
    times, v_ref, v_cand = v_arrays(ref["steps"], cand["steps"])
    keep = (times >= s0) & (times < s1)
    out["step_traces"] = (times[keep], v_ref[keep], v_cand[keep], list(step_amplitudes))
    out["step_v_r_clipped"] = float(np.nanmedian(
        m.signal_scores(v_ref[keep], v_cand[keep], clip=V_CLIP)["r"]))
    # divergence
    free_ref, free_cand = spike_arrays(ref["freerun"]), spike_arrays(cand["freerun"])
    times, v_ref, v_cand = v_arrays(ref["freerun"], cand["freerun"])
    rows = []
    for end_s in window_ends:
        end = end_s * 1000.0
        start = max(0.0, end - LOCAL_WINDOW)
        local_ref, local_cand = in_window(free_ref, start, end), in_window(free_cand, start, end)
        keep = (times >= start) & (times < end)
        n_ref = np.array([len(t) for t in in_window(free_ref, 0.0, end)])
        n_cand = np.array([len(t) for t in in_window(free_cand, 0.0, end)])
        rows.append(dict(
            t_s=end_s,
            spike_f1_2ms=m.spike_scores(local_ref, local_cand, 2.0)["f1"],
            spike_f1_10ms=m.spike_scores(local_ref, local_cand, 10.0)["f1"],
            v_r_clipped=float(np.nanmedian(m.signal_scores(v_ref[keep], v_cand[keep],
                                                           clip=V_CLIP)["r"])),
            v_r=float(np.nanmedian(m.signal_scores(v_ref[keep], v_cand[keep])["r"])),
            rate_error_hz=float(np.mean(np.abs(n_ref - n_cand)) * 1000.0 / end),
            rate_ref_hz=float(np.mean(n_ref) * 1000.0 / end)))
    out["divergence"] = rows
    last = rows[-1]
    out["divergence_spike_f1_2ms"] = last["spike_f1_2ms"]
    out["divergence_spike_f1_10ms"] = last["spike_f1_10ms"]
    out["divergence_rate_error_hz"] = last["rate_error_hz"]
    out["divergence_v_r_clipped"] = last["v_r_clipped"]
    late = (times >= max(0.0, last["t_s"] * 1000 - 500.0)) & (times < last["t_s"] * 1000)
    early = times < 500.0
    out["freerun_traces"] = [(times[sel], v_ref[sel, 0], v_cand[sel, 0]) for sel in (early, late)]
    return out


def figure_fi(results, names, path):
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    for key, name, colour, marker in (("fi_rates_ref", names[0], REFERENCE_COLOUR, "o"),
                                      ("fi_rates_cand", names[1], CANDIDATE_COLOUR, "s")):
        ax.plot(results["fi_currents"], results[key], marker=marker, color=colour, label=name)
    ax.set_xlabel("Injected current (nA)")
    ax.set_ylabel("Firing rate (Hz), 200-1200 ms")
    ax.set_title(f"f-I curve: MAE {results['fi_rate_mae_hz']:.2f} Hz")
    ax.legend(frameon=False)
    fig.tight_layout()
    return save(fig, path)


def figure_steps(results, names, path):
    plt = pyplot()
    times, v_ref, v_cand, amplitudes = results["step_traces"]
    fig, axes = plt.subplots(len(amplitudes), 1, figsize=(10, 1.9 * len(amplitudes) + 0.5),
                             sharex=True, squeeze=False)
    for j, (ax, amplitude) in enumerate(zip(axes[:, 0], amplitudes)):
        ax.plot(times, v_ref[:, j], color=REFERENCE_COLOUR, lw=1.6, label=names[0])
        ax.plot(times, v_cand[:, j], color=CANDIDATE_COLOUR, lw=0.9, label=names[1])
        ax.axvspan(100.0, 400.0, color="#eeeeee", zorder=-1)
        ax.set_title(f"step {amplitude:g} nA (100-400 ms, shaded)", fontsize=9, loc="left")
        ax.set_ylabel("v (mV)")
    axes[-1, 0].set_xlabel("Time (ms)")
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    fig.legend(*axes[0, 0].get_legend_handles_labels(), loc="upper center", ncol=2,
               frameon=False, fontsize=9)
    return save(fig, path)


def figure_divergence(results, path):
    plt = pyplot()
    rows = results["divergence"]
    t = [r["t_s"] for r in rows]
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.4))
    axes[0].plot(t, [r["spike_f1_2ms"] for r in rows], "o-", color=CANDIDATE_COLOUR,
                 label="±2 ms")
    axes[0].plot(t, [r["spike_f1_10ms"] for r in rows], "s--", color=CANDIDATE_COLOUR,
                 label="±10 ms")
    axes[0].set_ylabel("Spike F1 in the last 1 s")
    axes[0].set_ylim(0, 1.05)
    axes[0].legend(frameon=False)
    axes[1].plot(t, [r["rate_error_hz"] for r in rows], "o-", color=CANDIDATE_COLOUR)
    axes[1].set_ylabel("Mean |rate error| over [0, T] (Hz)")
    axes[2].plot(t, [r["v_r_clipped"] for r in rows], "o-", color=CANDIDATE_COLOUR,
                 label="clipped at -40 mV")
    axes[2].plot(t, [r["v_r"] for r in rows], "s--", color=CANDIDATE_COLOUR, label="raw")
    axes[2].set_ylabel("v Pearson r in the last 1 s")
    axes[2].set_ylim(min(0.0, min(r["v_r"] for r in rows)), 1.05)
    axes[2].legend(frameon=False)
    for ax in axes:
        ax.set_xscale("log")
        ax.set_xticks(t)
        ax.set_xticklabels([f"{x:g}" for x in t])
        ax.minorticks_off()
        ax.set_xlabel("Simulated time T (s)")
    fig.suptitle("Free-running divergence from the reference (identical inputs)")
    fig.tight_layout()
    return save(fig, path)


def figure_freerun(results, names, path):
    plt = pyplot()
    fig, axes = plt.subplots(2, 1, figsize=(10, 4.6))
    for ax, (times, ref, cand), label in zip(axes, results["freerun_traces"],
                                             ("first 500 ms", "last 500 ms")):
        ax.plot(times, ref, color=REFERENCE_COLOUR, lw=1.6, label=names[0])
        ax.plot(times, cand, color=CANDIDATE_COLOUR, lw=0.9, label=names[1])
        ax.set_title(f"free-running cell 0, {label}", fontsize=9, loc="left")
        ax.set_ylabel("v (mV)")
        ax.set_xlabel("Time (ms)")
    fig.tight_layout(rect=(0, 0, 1, 0.93))
    fig.legend(*axes[0].get_legend_handles_labels(), loc="upper center", ncol=2,
               frameon=False, fontsize=9)
    return save(fig, path)


def validate_cell(options, command):
    """Run the single-cell protocols on both backends and write the report; return exit code."""
    from .script_report import _run_info
    from .subprocesses import RunError, run_backend
    from .cell_protocol_script import fi_currents, protocol_parameters
    from .report import write_error_report

    try:
        tolerances = Tolerances(options.tolerances)
    except ToleranceFileError as err:
        print(f"error: {err}")
        return EXIT_ERROR
    celltype = options.cell
    out_dir = Path(options.out or f"validation_cell_{celltype}")
    out_dir.mkdir(parents=True, exist_ok=True)
    max_window = options.max_window or (2.0 if options.quick else 100.0)
    window_ends = windows(max_window)
    duration = max(max_window * 1000.0, FI_WINDOW[1], STEP_WINDOW[1])
    n_currents = 6 if options.quick else 13
    n_cells = options.n_cells or (2 if options.quick else 4)
    common = ["--cell", celltype, "--duration", f"{duration:g}", "--n-currents",
              str(n_currents), "--n-cells", str(n_cells)]
    with tempfile.TemporaryDirectory(prefix="pynn_validate_cell_") as tmp:
        data_dir = out_dir / "runs" if options.keep_data else Path(tmp)
        segments, manifests = {}, {}
        for role, backend, dt in (("reference", options.reference, REFERENCE_DT),
                                  ("candidate", options.candidate, CANDIDATE_DT)):
            print(f"running {celltype} protocols on {backend} ({role}, dt {dt} ms, "
                  f"{duration / 1000:g} s) ...", flush=True)
            try:
                run_backend(backend, SCRIPT, common + ["--timestep", str(dt)],
                            data_dir / role, out_dir / f"{role}.log", timeout=options.timeout)
            except RunError as err:
                write_error_report(out_dir, command, str(err))
                print(f"error: {err}")
                return EXIT_ERROR
            segments[role], manifests[role] = load_recordings(data_dir / role)
    steps = protocol_parameters(celltype)["steps"]
    results = analyse(segments["reference"], segments["candidate"],
                      fi_currents(celltype, n_currents), steps, window_ends)
    names = (f"{options.reference} (reference, dt {REFERENCE_DT} ms)",
             f"{options.candidate} (candidate, dt {CANDIDATE_DT} ms)")
    checks = [tolerances.check(name, results[name], group=celltype)
              for name in ("fi_rate_mae_hz", "fi_rheobase_error_na", "step_spike_f1_2ms",
                           "step_v_r_clipped", "divergence_spike_f1_2ms",
                           "divergence_spike_f1_10ms", "divergence_rate_error_hz",
                           "divergence_v_r_clipped")]
    wall_ref = manifests["reference"]["wall_run_s"]
    wall_cand = manifests["candidate"]["wall_run_s"]
    speed_ratio = wall_ref / wall_cand if wall_cand else None
    checks.append(tolerances.check("speed_ratio", speed_ratio))
    figure_fi(results, names, out_dir / "fi_curve.png")
    figure_steps(results, names, out_dir / "step_responses.png")
    figure_divergence(results, out_dir / "divergence.png")
    figure_freerun(results, names, out_dir / "freerun_traces.png")
    divergence_rows = [("T (s)", "F1 ±2 ms", "F1 ±10 ms", "v r clipped", "v r",
                        "rate error (Hz)", "reference rate (Hz)")]
    divergence_rows += [(r["t_s"], r["spike_f1_2ms"], r["spike_f1_10ms"], r["v_r_clipped"],
                         r["v_r"], r["rate_error_hz"], r["rate_ref_hz"]) for r in
                        results["divergence"]]
    intro = (f"<p>Command: <code>{html.escape(command)}</code></p>"
             f"<p>Colours: <span class='ref'>{html.escape(names[0])}</span>, "
             f"<span class='cand'>{html.escape(names[1])}</span>. Protocol script: "
             f"<code>{SCRIPT.name}</code>, {duration / 1000:g} s simulated.</p>"
             + key_value_table([("", names[0], names[1]),
                                ("run wall time (s)", wall_ref, wall_cand),
                                ("rheobase (nA)", results["rheobase_ref_na"],
                                 results["rheobase_cand_na"])])
             + f"<p>Speed ratio (reference / candidate run wall time): <b>{fmt(speed_ratio)}"
               "</b> (all three protocols in one run).</p>")
    sections = [
        ("f-I curve", image("fi_curve.png", "f-I curve")),
        ("Step-current responses", image("step_responses.png", "step responses")),
        ("Divergence against simulated time",
         "<p>Free-running cells with identical inputs; F1 and v r in the last second before "
         "T, rate error over [0, T].</p>" + key_value_table(divergence_rows)
         + image("divergence.png", "divergence") + image("freerun_traces.png", "traces")),
        ("All checks", checks_table(checks, show_group=False)),
    ]
    title = f"Single-cell validation of {celltype}: {options.candidate} against " \
            f"{options.reference}"
    write_html(out_dir, title, intro, checks, sections)
    passed = overall_passed(checks)
    exit_code = EXIT_PASS if passed else EXIT_FAIL
    scalar = {k: v for k, v in results.items() if isinstance(v, (int, float)) or v is None}
    write_metrics(out_dir, dict(
        kind="cell", title=title, command=command, celltype=celltype, passed=passed,
        exit_code=exit_code, reference=_run_info(manifests["reference"]),
        candidate=_run_info(manifests["candidate"]), speed_ratio=speed_ratio,
        tolerances=tolerances.as_dict(), checks=checks, window_ends_s=window_ends,
        fi=dict(currents_na=results["fi_currents"], rates_ref_hz=results["fi_rates_ref"],
                rates_cand_hz=results["fi_rates_cand"]),
        divergence=results["divergence"], metrics=scalar))
    print(f"report: {out_dir / 'index.html'} ({'PASS' if passed else 'FAIL'})")
    return exit_code
