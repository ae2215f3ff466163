"""Every table fits 60, 80 and 120 columns: no number cut, no name broken, nothing cropped."""

from __future__ import annotations

import numpy as np
import pytest
from rich.cells import cell_len
from typer.testing import CliRunner

from klcli.cli import app
from klcli.render import format_number
from tests.conftest import EXAMPLES

WIDTHS = (60, 80, 120)
LONG = "histogram_of_daily_traffic_2026-11-{:02d}_region_eu-west.csv"


def render(width: int, *args) -> str:
    result = CliRunner().invoke(app, [str(a) for a in args], env={"COLUMNS": str(width), "NO_COLOR": "1"})
    assert result.exit_code in (0, 1), result.stderr
    lines = result.stdout.splitlines()
    assert lines, "no output"
    too_long = [line for line in lines if cell_len(line) > width]  # terminal cells: k̂ is one cell, two code points
    assert not too_long, f"lines wider than {width}: {too_long}"
    assert "…" not in result.stdout, f"a cell was cut:\n{result.stdout}"
    return result.stdout


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """Eight histograms with long names, a reference, and 200 short ones."""
    root = tmp_path_factory.mktemp("widths")
    rng = np.random.default_rng(1)
    (root / "long").mkdir()
    for i in range(8):
        np.savetxt(root / "long" / LONG.format(i + 1), rng.dirichlet(np.ones(12)) * 1000, fmt="%.3f")
    np.savetxt(root / "ref.csv", rng.dirichlet(np.ones(12)) * 1000, fmt="%.3f")
    (root / "many").mkdir()
    for i in range(200):
        np.savetxt(root / "many" / f"h{i:03d}.csv", rng.dirichlet(np.ones(5)), fmt="%.6f")
    return root


def json_of(*args):
    return CliRunner().invoke(app, [str(a) for a in args] + ["--format", "json"]).stdout


@pytest.mark.parametrize("width", WIDTHS)
def test_compare_shows_every_value_and_note(width):
    args = ("compare", EXAMPLES / "browsers_today.csv", EXAMPLES / "browsers_baseline.csv")
    out = render(width, *args)
    import json

    record = json.loads(json_of(*args))
    for key in ("kl_pq", "js", "js_distance", "entropy_p"):
        value = record[key]
        assert format_number(float(value)) in out
    assert "samsung" in out and "opera" in out
    assert str(EXAMPLES / "browsers_today.csv") in out and str(EXAMPLES / "browsers_baseline.csv") in out


@pytest.mark.parametrize("width", WIDTHS)
def test_compare_with_standard_errors_fits(width):
    out = render(width, "compare", "normal(0,1)", "laplace(0,2)", "--engine", "mc", "--samples", "2000")
    assert "std." in out and "carlo" in out


@pytest.mark.parametrize("width", WIDTHS)
def test_compare_rows_fit(width):
    out = render(width, "compare", EXAMPLES / "batch_p.npy", EXAMPLES / "batch_q.npy", "--reduction", "none")
    assert "KL(P‖Q)" in out


@pytest.mark.parametrize("width", WIDTHS)
def test_batch_keeps_names_whole(width, folder):
    out = render(width, "batch", "-r", folder / "ref.csv", folder / "long")
    for i in range(8):
        assert LONG.format(i + 1) in out
    import json

    for record in json.loads(json_of("batch", "-r", folder / "ref.csv", folder / "long")):
        assert format_number(record["kl_pq"]) in out and format_number(record["js"]) in out
    if width < 120:
        assert "not shown at this width" in out or "  " + LONG.format(1) in out


@pytest.mark.parametrize("width", WIDTHS)
def test_pairwise_keeps_row_labels(width, folder):
    out = render(width, "batch", "--pairwise", folder / "long")
    for i in range(8):
        assert LONG.format(i + 1) in out
    rows = [line.strip("│ ").split()[0] for line in out.splitlines() if line.strip("│ ")[:1].isdigit()]
    assert [str(i) for i in range(1, 9)] == rows[:8], out


@pytest.mark.parametrize("width", WIDTHS)
def test_pairwise_too_wide_says_so(width, folder):
    out = render(width, "batch", "--pairwise", folder / "many")
    flat = " ".join(out.split())
    assert "200 × 200 matrix is too wide" in flat and "--format csv or --format html" in flat
    assert "━" not in out


@pytest.mark.parametrize("width", WIDTHS)
def test_families_breaks_no_word(width):
    out = render(width, "families")
    words = set(out.split())
    for name in ("negativebinomial", "categorical", "exponential", "continuous"):
        assert name in words or name + "," in words or f"({name};" in words


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("extra", [(), ("--config", str(EXAMPLES.parent / "ci" / "drift.toml"), "--metric", "psi")])
def test_drift_table_fits(width, extra):
    import json

    args = ("drift", EXAMPLES / "drift" / "reference.csv", EXAMPLES / "drift" / "current.csv", *extra)
    out = render(width, *args)
    record = json.loads(CliRunner().invoke(app, [str(a) for a in args] + ["--format", "json"]).stdout)
    words = set(out.split())
    for c in record["columns"]:
        assert c["column"] in words
        assert f"{c['value']:.4g}" in words
    assert "DRIFT" in words and "session_minutes" in out
