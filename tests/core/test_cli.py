"""Command line: value parsing, both subcommands, and clean errors (exit 2, no traceback)."""

import io
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from ggmi_core.cli import CliError, main, parse_values
from ggmi_core.config import ScenarioConfig
from ggmi_core.simulation import SUMMARY_COLUMNS, simulate, summarise

REPO = Path(__file__).resolve().parents[2]


def _run(argv):
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize(
    "text,param,expected",
    [
        ("2:5", "K", [2, 3, 4, 5]),
        ("2:15", "J", list(range(2, 16))),
        ("2:10:4", "L", [2, 6, 10]),
        ("0:0.3:0.1", "noise_std", [0.0, 0.1, 0.2, 0.3]),
        ("3, 5,8", "K", [3, 5, 8]),
        ("0.5,1", "adherence", [0.5, 1]),
    ],
)
def test_parse_values(text, param, expected):
    assert parse_values(text, param) == pytest.approx(expected)
    if param in ("K", "J", "L"):
        assert all(isinstance(v, int) for v in parse_values(text, param))


@pytest.mark.parametrize("text", ["", "2:", "5:2", "1:3:0", "a,b", "1:2:3:4", "0:100000"])
def test_parse_values_rejects_bad_text(text):
    with pytest.raises(CliError):
        parse_values(text, "K")


def test_sweep_writes_the_same_rows_as_the_library(tmp_path):
    out = tmp_path / "sweep.csv"
    argv = ["sweep", "--param", "J", "--values", "2,4", "--rounds", "5", "--metric", "tv"]
    code, stdout, _ = _run([*argv, "--n-mc", "100", "--L", "3", "--seed", "7", "--out", str(out)])
    assert code == 0 and "wrote 2 rows" in stdout
    df = pd.read_csv(out)
    assert list(df.columns) == list(SUMMARY_COLUMNS)
    row = summarise(
        simulate(ScenarioConfig(J=4, L=3, seed=7), rounds=5, metric="tv", n_mc=100), "J"
    )
    assert df.iloc[1]["gap_mean"] == pytest.approx(row["gap_mean"], rel=1e-12)
    assert df["value"].tolist() == [2, 4]


def test_sweep_to_standard_output_and_every_config_option():
    code, stdout, _ = _run(
        [
            "sweep", "--param", "noise_std", "--values", "0,0.2", "--rounds", "3",
            "--n-mc", "50", "--K", "1", "--J", "1", "--L", "0", "--Nk", "20",
            "--n-synthetic", "60", "--dim", "3", "--adherence", "0.5", "--cov-recipe", "aat",
            "--cov-scale", "0.5", "--mean-gap", "1", "--quiet",
        ]
    )  # fmt: skip
    assert code == 0
    df = pd.read_csv(io.StringIO(stdout))
    assert df["value"].tolist() == [0.0, 0.2] and (df["rounds"] == 3).all()


def test_simulate_prints_a_summary_and_per_scenario_csv(tmp_path):
    out = tmp_path / "gaps.csv"
    code, stdout, _ = _run(
        ["simulate", "--rounds", "4", "--metric", "js", "--n-mc", "100", "--out", str(out)]
    )
    assert code == 0
    assert "gap = div(pi_anchor, G) - div(pi_gen, G)" in stdout and "nats" in stdout
    table = pd.read_csv(out)
    assert len(table) == 4 and {"gap", "gap_stderr", "div_anchor"} <= set(table.columns)


@pytest.mark.parametrize(
    "argv,message",
    [
        (["simulate", "--K", "0"], "K (anchor-sampled target components) must be"),
        (["simulate", "--K", "2.5"], "must be an integer"),
        (["simulate", "--rounds", "0"], "rounds"),
        (["simulate", "--dim", "3", "--metric", "kl_published"], "dim <= 2"),
        (["sweep", "--param", "K", "--values", "1:x"], "not a number"),
        (["sweep", "--param", "K", "--values", "2:3", "--out", "/no/such/dir/x.csv"], "folder"),
        (["sweep", "--param", "K", "--values", "2:3", "--workers", "0"], "workers"),
    ],
)
def test_bad_input_exits_2_with_a_message(argv, message):
    code, _, err = _run(argv)
    assert code == 2
    assert message in err and "Traceback" not in err


def test_argparse_errors_exit_2(capsys):
    assert main(["simulate", "--metric", "nope"]) == 2
    assert "invalid choice" in capsys.readouterr().err
    assert main(["sweep", "--values", "2:3"]) == 2  # --param missing


def test_module_entry_point_help_and_error():
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    ok = subprocess.run(
        [sys.executable, "-m", "ggmi_core", "sweep", "--help"],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert ok.returncode == 0
    for option in ("--param", "--values", "--rounds", "--metric", "--workers", "--n-mc",
                   "--noise-std", "--adherence", "--cov-recipe", "--seed"):  # fmt: skip
        assert option in ok.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "ggmi_core", "simulate", "--J", "-1"],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert bad.returncode == 2 and "J (" in bad.stderr and "Traceback" not in bad.stderr
