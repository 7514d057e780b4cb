"""Command line for the GMM simulation: ``python -m ggmi_core {sweep,simulate} ...``.

Examples::

    python -m ggmi_core sweep --param K --values 2:15 --rounds 100 --metric js --out sweep.csv
    python -m ggmi_core sweep --param noise_std --values 0,0.1,0.5 --J 4 --workers 2
    python -m ggmi_core simulate --K 3 --metric tv --rounds 200
    python -m ggmi_core sweep --param J --values 2:15 --dask-scheduler tcp://10.0.0.5:8786

Bad input prints a one-line message and exits with status 2 (never a traceback); an
unreachable Dask scheduler exits with status 1.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import fields
from typing import TextIO

import numpy as np
import pandas as pd

from ggmi_core.config import (
    COV_RECIPES,
    DEFAULT_N_MC,
    FIELD_LIMITS,
    SWEEPABLE_PARAMS,
    ScenarioConfig,
)
from ggmi_core.distributed import DaskUnavailable
from ggmi_core.metrics import METRIC_LABELS, METRIC_UNITS, METRICS
from ggmi_core.simulation import (
    SimulationResult,
    simulate,
    summarise,
    sweep,
)

MAX_VALUES = 1000
DEFAULT_WORKERS = max(1, min(2, os.cpu_count() or 1))
PROGRESS_AFTER_S = 1.0  # stay quiet on runs shorter than this

EPILOG = (
    """\
Letters follow Appendix B of the paper and its published code: K anchor-sampled target components,
J unsampled target components, L task-irrelevant model components, N_k anchor samples
per anchor component, n synthetic samples, d dimension. The gap is
div(pi_anchor, G) - div(pi_gen, G): positive means synthetic data helped.
Metrics: """
    + "; ".join(f"{m} = {METRIC_LABELS[m]}" for m in METRICS)
    + """.
Divergences are in nats (tv is a probability)."""
)


class CliError(Exception):
    """Bad command-line input; reported as one line on stderr with exit status 2."""


# ---------------------------------------------------------------------------- parsing


def parse_values(text: str, param: str) -> list[int | float]:
    """Sweep values from ``a:b`` (inclusive), ``a:b:step`` or ``v1,v2,...``.

    Integer fields get integers; a fractional value for one is an error (from the config).
    """
    integer = param in FIELD_LIMITS and FIELD_LIMITS[param].integer
    text = text.strip()
    if not text:
        raise CliError("--values is empty; use a:b, a:b:step or a comma list")
    if ":" in text:
        parts = text.split(":")
        if len(parts) not in (2, 3):
            raise CliError(f"--values {text!r}: a range is a:b or a:b:step")
        start, stop = _number(parts[0]), _number(parts[1])
        step = _number(parts[2]) if len(parts) == 3 else 1.0
        if step <= 0:
            raise CliError(f"--values {text!r}: the step must be positive")
        if stop < start:
            raise CliError(f"--values {text!r}: the end must not be below the start")
        count = math.floor((stop - start) / step + 1e-9) + 1
        if count > MAX_VALUES:
            raise CliError(f"--values {text!r} gives {count} values; at most {MAX_VALUES}")
        raw = [start + i * step for i in range(count)]
    else:
        raw = [_number(part) for part in text.split(",") if part.strip()]
        if len(raw) > MAX_VALUES:
            raise CliError(f"--values has {len(raw)} values; at most {MAX_VALUES}")
    return [_typed(v, integer) for v in raw]


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise CliError(f"not a number: {text.strip()!r}") from None
    if not math.isfinite(value):
        raise CliError(f"not a finite number: {text.strip()!r}")
    return value


def _typed(value: float, integer: bool) -> int | float:
    rounded = round(value, 12)
    if integer and float(rounded).is_integer():
        return int(rounded)
    return rounded


def _option(name: str) -> str:
    return "--" + name.replace("_", "-")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (subcommands ``sweep`` and ``simulate``)."""
    parser = argparse.ArgumentParser(
        prog="python -m ggmi_core",
        description="GMM simulation of Gan & Liu (ICLR 2025): the KL Gap between a model "
        "fitted on anchor data and one fitted on synthetic data.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="{sweep,simulate}")
    p_sweep = sub.add_parser(
        "sweep",
        help="gap summary for each value of one parameter (Figure 4)",
        description="Run the experiment for each value of one parameter; write one CSV row "
        "per value (gap mean, std, sem, median, 10%/90% quantiles, ...).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p_sweep.add_argument(
        "--param", required=True, choices=SWEEPABLE_PARAMS, help="the parameter to vary"
    )
    p_sweep.add_argument(
        "--values",
        required=True,
        help="values to try: a:b (inclusive, step 1), a:b:step, or a comma list v1,v2,...",
    )
    p_sweep.add_argument(
        "--workers",
        type=int,
        default=DEFAULT_WORKERS,
        help=f"worker processes (default {DEFAULT_WORKERS}: the cores here, at most 2); "
        "results do not depend on it",
    )
    p_sweep.add_argument(
        "--dask-scheduler",
        default=None,
        metavar="ADDRESS",
        help="run the values as tasks on this Dask scheduler (e.g. tcp://host:8786) instead "
        "of local processes; same numbers (needs the 'distributed' package here and "
        "ggmi_core on the workers)",
    )
    p_sweep.add_argument(
        "--out", default="-", help="CSV file to write (default '-': standard output)"
    )
    p_sim = sub.add_parser(
        "simulate",
        help="run one setting and print a summary of its gaps",
        description="Run the experiment for one setting and print the gap's summary; "
        "--out also writes one CSV row per scenario.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p_sim.add_argument(
        "--out", default=None, help="optional CSV of per-scenario gaps and divergences"
    )
    for p in (p_sweep, p_sim):
        _add_run_options(p)
        _add_config_options(p)
    return parser


def _add_run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--rounds", type=int, default=100, help="independent scenarios per setting (default 100)"
    )
    p.add_argument(
        "--metric",
        choices=METRICS,
        default="js",
        help="divergence of the gap (default js); kl_published is the published histogram "
        "estimator (biased, d <= 2)",
    )
    p.add_argument(
        "--n-mc",
        type=int,
        default=DEFAULT_N_MC,
        help=f"Monte Carlo draws per divergence and scenario (default {DEFAULT_N_MC}; "
        "ignored by kl_published, which uses 1,000 draws x 100 resamplings)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress messages on stderr")


def _add_config_options(p: argparse.ArgumentParser) -> None:
    group = p.add_argument_group(
        "scenario settings", "defaults reproduce the published recipe (K=J=L=2, N_k=50, n=200)"
    )
    defaults = ScenarioConfig()
    for f in fields(ScenarioConfig):
        default = getattr(defaults, f.name)
        if f.name == "cov_recipe":
            group.add_argument(
                "--cov-recipe",
                choices=COV_RECIPES,
                default=default,
                help="covariance recipe: published (SVD substitute of A B^T, default) or "
                "aat (A A^T)",
            )
            continue
        limit = FIELD_LIMITS[f.name]
        span = f"{_fmt(limit.low)}..{_fmt(limit.high)}"
        names = [_option(f.name)]
        if f.name == "n_anchor_per_component":
            names.append("--Nk")
        group.add_argument(
            *names,
            dest=f.name,
            type=_number_text,
            default=default,
            metavar=f.name.upper() if len(f.name) > 1 else f.name,
            help=f"{limit.meaning} ({span}; default {default})",
        )


def _number_text(text: str) -> float:
    """argparse type: a finite number (range and integrality checked by ScenarioConfig)."""
    try:
        return _number(text)
    except CliError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def _config_from_args(args: argparse.Namespace) -> ScenarioConfig:
    data = {}
    for f in fields(ScenarioConfig):
        value = getattr(args, f.name)
        if isinstance(value, float) and FIELD_LIMITS.get(f.name) and FIELD_LIMITS[f.name].integer:
            value = int(value) if value.is_integer() else value
        data[f.name] = value
    return ScenarioConfig(**data)


# ---------------------------------------------------------------------------- commands


class _Progress:
    """Prints ``label: done/total`` to stderr once a run has lasted a second."""

    def __init__(self, label: str, unit: str, stream: TextIO, quiet: bool) -> None:
        self.label, self.unit, self.stream, self.quiet = label, unit, stream, quiet
        self.start = time.perf_counter()

    def __call__(self, done: int, total: int) -> None:
        elapsed = time.perf_counter() - self.start
        if self.quiet or (elapsed < PROGRESS_AFTER_S and done < total):
            return
        if elapsed >= PROGRESS_AFTER_S:
            print(
                f"{self.label}: {done}/{total} {self.unit} done ({elapsed:.1f} s)",
                file=self.stream,
                flush=True,
            )


def sweep_command(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    config = _config_from_args(args)
    values = parse_values(args.values, args.param)
    if args.out != "-":
        _check_writable(args.out)  # fail before a long run, not after
    progress = _Progress(f"sweep {args.param}", "values", stderr, args.quiet)
    df = sweep(
        config,
        args.param,
        values,
        rounds=args.rounds,
        metric=args.metric,
        progress=progress,
        workers=args.workers,
        n_mc=args.n_mc,
        scheduler=args.dask_scheduler,
    )
    if args.out == "-":
        df.to_csv(stdout, index=False)
    else:
        _write_csv(df, args.out)
        unit = METRIC_UNITS[args.metric]
        cols = ["value", "gap_mean", "gap_std", "gap_median", "gap_q10", "gap_q90"]
        print(
            f"gap of {METRIC_LABELS[args.metric]} ({unit}), {args.rounds} scenarios a value:",
            file=stdout,
        )
        print(df[cols].to_string(index=False, float_format=lambda v: f"{v:.4g}"), file=stdout)
        print(f"wrote {len(df)} rows to {args.out}", file=stdout)
    return 0


def simulate_command(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    config = _config_from_args(args)
    if args.out:
        _check_writable(args.out)
    progress = _Progress("simulate", "chunks", stderr, args.quiet)
    start = time.perf_counter()
    result = simulate(
        config, rounds=args.rounds, metric=args.metric, n_mc=args.n_mc, progress=progress
    )
    elapsed = time.perf_counter() - start
    print(format_summary(result, elapsed), file=stdout)
    if args.out:
        _write_csv(scenario_rows(result), args.out)
        print(f"wrote {result.rounds} rows to {args.out}", file=stdout)
    return 0


def format_summary(result: SimulationResult, elapsed: float | None = None) -> str:
    """Human-readable summary of one simulation."""
    row = summarise(result, "K")
    unit = METRIC_UNITS[result.metric]
    c = result.config
    lines = [
        f"setting: K={c.K} J={c.J} L={c.L} N_k={c.n_anchor_per_component} "
        f"n={c.n_synthetic} d={c.dim} noise_std={c.noise_std} adherence={c.adherence} "
        f"cov={c.cov_recipe} x{c.cov_scale} mean_gap={c.mean_gap} seed={c.seed}",
        f"metric: {METRIC_LABELS[result.metric]} ({unit}); {result.rounds} scenarios",
        f"gap = div(pi_anchor, G) - div(pi_gen, G): mean {row['gap_mean']:.4g} "
        f"+- {row['gap_sem']:.2g} (sem), std {row['gap_std']:.4g}",
        f"  median {row['gap_median']:.4g}, 10%-90% [{row['gap_q10']:.4g}, "
        f"{row['gap_q90']:.4g}], range [{row['gap_min']:.4g}, {row['gap_max']:.4g}]",
        f"div(pi_anchor, G) mean {row['div_anchor_mean']:.4g}; "
        f"div(pi_gen, G) mean {row['div_synthetic_mean']:.4g}",
        f"Monte Carlo stderr of one scenario's gap (rms): {row['gap_mc_stderr']:.2g}; "
        f"EM converged: {100 * row['em_converged']:.0f}% of fits",
    ]
    if elapsed is not None:
        lines.append(f"time: {elapsed:.2f} s")
    return "\n".join(lines)


def scenario_rows(result: SimulationResult) -> pd.DataFrame:
    """One row per scenario: gap, both divergences and their standard errors."""
    return pd.DataFrame(
        {
            "scenario": np.arange(result.rounds),
            "gap": result.gap,
            "gap_stderr": result.gap_stderr,
            "div_anchor": result.div_anchor,
            "div_anchor_stderr": result.div_anchor_stderr,
            "div_synthetic": result.div_synthetic,
            "div_synthetic_stderr": result.div_synthetic_stderr,
            "em_anchor_converged": result.anchor_em.converged,
            "em_synthetic_converged": result.synthetic_em.converged,
        }
    )


def _check_writable(path: str) -> None:
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise CliError(f"cannot write {path}: folder {folder} does not exist")
    if os.path.isdir(path):
        raise CliError(f"cannot write {path}: it is a folder")


def _write_csv(df: pd.DataFrame, path: str) -> None:
    try:
        df.to_csv(path, index=False)
    except OSError as err:
        raise CliError(f"cannot write {path}: {err.strerror or err}") from None


def main(
    argv: Sequence[str] | None = None, stdout: TextIO | None = None, stderr: TextIO | None = None
) -> int:
    """Entry point; returns the exit status (0 ok, 1 no Dask scheduler, 2 bad input,
    130 interrupted)."""
    stdout = sys.stdout if stdout is None else stdout
    stderr = sys.stderr if stderr is None else stderr
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # argparse has printed usage and the message
        return int(exit_.code or 0)
    command = sweep_command if args.command == "sweep" else simulate_command
    try:
        return command(args, stdout, stderr)
    except (CliError, ValueError) as err:
        print(f"{parser.prog} {args.command}: error: {err}", file=stderr)
        return 2
    except DaskUnavailable as err:
        print(f"{parser.prog} {args.command}: error: {err}", file=stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=stderr)
        return 130
