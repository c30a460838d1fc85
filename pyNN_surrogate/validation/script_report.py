"""
Report of a script comparison: figures per group, ``index.html`` and ``metrics.json``.
"""

import html
from pathlib import Path

from tqdm import tqdm

from . import EXIT_FAIL, EXIT_PASS, figures
from .compare import all_checks
from .report import checks_table, fmt, image, key_value_table, write_html, write_metrics
from .runner import safe_filename
from .tolerances import overall_passed


def _run_info(manifest):
    return {k: manifest.get(k) for k in ("backend", "module", "wall_run_s", "wall_script_s",
                                         "run_calls", "t_stop_ms", "dt_ms",
                                         "stochastic_inputs")}


def group_section(group, names, out_dir, progress=None, with_figures=True):
    """Figures and tables of one group; returns an HTML fragment."""
    stem = f"{group.kind}_{safe_filename(group.key)}"
    parts = [f"<p>{group.kind} <b>{html.escape(group.label)}</b>: {group.size} cells of "
             f"{html.escape(group.celltype)}, {group.n_segments} segment(s).</p>"]
    rows = [("", names[0], names[1])]
    metric_pairs = [("mean rate (Hz)", "mean_rate_ref_hz", "mean_rate_cand_hz"),
                    ("mean CV ISI", "mean_cv_isi_ref", "mean_cv_isi_cand")]
    for label, a, b in metric_pairs:
        if a in group.metrics:
            rows.append((label, group.metrics[a], group.metrics[b]))
    if len(rows) > 1:
        parts.append(key_value_table(rows))
    parts.append(checks_table(group.checks, show_group=False))
    if not with_figures:
        if progress is not None:
            progress.update(1)
        return "\n".join(parts)
    if group.ref_trains:
        parts.append("<h3>Rasters</h3>")
        parts.append(image(Path(figures.raster(group, names, out_dir / f"{stem}_raster.png")).name,
                           "rasters"))
        parts.append("<h3>Rates, irregularity and population activity</h3>")
        parts.append(image(Path(figures.distributions(
            group, names, out_dir / f"{stem}_distributions.png")).name, "distributions"))
        if group.agreement is not None and group.agreement["scores"][2.0]["n_true"] + \
                group.agreement["scores"][2.0]["n_pred"] > 0:
            parts.append("<h3>Per-cell spike agreement</h3>")
            parts.append(image(Path(figures.agreement(
                group, out_dir / f"{stem}_agreement.png")).name, "spike agreement"))
    for name, signal in group.signals.items():
        parts.append(f"<h3>{html.escape(name)} overlays</h3>")
        path = figures.overlays(signal, names, out_dir / f"{stem}_{safe_filename(name)}.png")
        parts.append(image(Path(path).name, f"{name} overlays"))
    if progress is not None:
        progress.update(1)
    return "\n".join(parts)


def write_script_report(comparison, out_dir, tolerances, title, command, progress=True,
                        with_figures=True):
    """Write figures, ``index.html`` and ``metrics.json`` of a script comparison.

    Parameters
    ----------
    comparison : dict
        From :func:`pyNN_surrogate.validation.compare.compare_runs`.
    out_dir : path-like
    tolerances : Tolerances
    title : str
    command : str
        The validate command line (shown in the report).
    progress : bool
    with_figures : bool
        False: tables only (no PNG files).

    Returns
    -------
    int
        Exit code: 0 if every check passed, 1 otherwise.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    ref, cand = comparison["manifest_ref"], comparison["manifest_cand"]
    names = (f"{ref['backend']} (reference)", f"{cand['backend']} (candidate)")
    checks = all_checks(comparison)
    passed = overall_passed(checks)
    identical = comparison["identical_inputs"]
    intro = [f"<p>Command: <code>{html.escape(command)}</code></p>",
             f"<p>Colours: <span class='ref'>{html.escape(names[0])}</span>, "
             f"<span class='cand'>{html.escape(names[1])}</span>.</p>",
             key_value_table([
                 ("", names[0], names[1]),
                 ("run wall time (s)", ref["wall_run_s"], cand["wall_run_s"]),
                 ("script wall time (s)", ref["wall_script_s"], cand["wall_script_s"]),
                 ("simulated time (ms)", ref["t_stop_ms"], cand["t_stop_ms"]),
                 ("time step (ms)", ref["dt_ms"], cand["dt_ms"]),
                 ("random inputs", ", ".join(ref["stochastic_inputs"]) or "none",
                  ", ".join(cand["stochastic_inputs"]) or "none")]),
             f"<p>Speed ratio (reference / candidate run wall time): "
             f"<b>{fmt(comparison['speed_ratio'])}</b>.</p>",
             "<p>Inputs identical on both backends: <b>" + ("yes" if identical else "no")
             + "</b>. " + ("" if identical else
                           "Per-cell agreement (spike matching, van Rossum, traces) is shown but "
                           "informational: random sources draw different realisations on each "
                           "backend.") + "</p>",
             "<p>Spike matching is one-to-one (each spike matched at most once, greedy sweep "
             "over sorted trains, |Δt| ≤ tolerance). Assemblies are unions of populations; "
             "their checks are informational.</p>"]
    if comparison["missing"]:
        intro.append("<p><b>Recorded by one backend only:</b> "
                     + html.escape(", ".join(comparison["missing"])) + "</p>")
    sections = []
    with tqdm(total=len(comparison["groups"]), desc="figures", disable=not progress) as bar:
        for group in comparison["groups"]:
            sections.append((f"{group.kind.capitalize()} {group.key}",
                             group_section(group, names, out_dir, bar, with_figures)))
    write_html(out_dir, title, "\n".join(intro), checks, sections)
    exit_code = EXIT_PASS if passed else EXIT_FAIL
    write_metrics(out_dir, dict(
        kind="script", title=title, command=command, passed=passed, exit_code=exit_code,
        reference=_run_info(ref), candidate=_run_info(cand),
        script=ref["script"], script_args=ref["script_args"],
        speed_ratio=comparison["speed_ratio"], identical_inputs=identical,
        tolerances=tolerances.as_dict(), checks=checks,
        groups={g.key: dict(kind=g.kind, label=g.label, size=g.size, celltype=g.celltype,
                            n_segments=g.n_segments, metrics=g.metrics)
                for g in comparison["groups"]},
        missing_groups=comparison["missing"]))
    return exit_code
