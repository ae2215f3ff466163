"""--plot terminal pictures, --format html reports and --output: content, safety, size, atomicity."""

from __future__ import annotations

import io
import json
import os
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from klcli.discrete import compare_probabilities, kl_terms
from tests.conftest import EXAMPLES, run_cli

BROWSERS = (EXAMPLES / "browsers_today.csv", EXAMPLES / "browsers_baseline.csv")


def needs_matplotlib():
    """matplotlib is the plot extra: CI installs it, so there the test must run."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("CI must install klcli[plot] (matplotlib)")
        pytest.skip("needs klcli[plot]")


#: A resource the page would fetch: src=, href=, url(...), @import, srcset with a scheme.
REMOTE = re.compile(
    r"""(?:src|href|xlink:href|srcset|action|poster|data)\s*=\s*["']?\s*(?:https?:)?//|url\(\s*["']?\s*(?:https?:)?//|@import""", re.I
)


def check_offline(page: str) -> None:
    """The page forbids every request and names no remote resource."""
    assert '<meta http-equiv="Content-Security-Policy" content="default-src \'none\';' in page
    assert not REMOTE.search(page), REMOTE.search(page)
    assert "<script" not in page.lower()


# ---------------------------------------------------------------------------
# per-bin terms


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0, 10), min_size=2, max_size=12), st.integers(0, 2**31))
def test_kl_terms_are_non_negative_and_sum_to_kl(weights, seed):
    p = np.array(weights) + 1e-3
    q = np.random.default_rng(seed).dirichlet(np.ones(len(p)))
    p /= p.sum()
    terms = kl_terms(p, q)
    assert np.all(terms >= 0)
    assert terms.sum() == pytest.approx(compare_probabilities(p, q).values["kl_pq"], rel=1e-9, abs=1e-15)


def test_kl_terms_mark_the_infinite_bin():
    terms = kl_terms(np.array([0.5, 0.5, 0.0]), np.array([0.5, 0.0, 0.5]))
    assert terms[1] == np.inf and terms[2] == 0.5 and terms[0] == 0


# ---------------------------------------------------------------------------
# --plot


@pytest.mark.parametrize("width", (60, 80, 120))
@pytest.mark.parametrize(
    "args",
    [
        ("compare", *BROWSERS),
        ("compare", EXAMPLES / "latency_today.csv", EXAMPLES / "latency_baseline.csv", "--base", "2"),
        ("compare", "normal(0,1)", "laplace(0,2)"),
        ("compare", EXAMPLES / "batch_p.npy", EXAMPLES / "batch_q.npy", "--reduction", "none"),
        ("batch", "-r", EXAMPLES / "batch" / "reference.csv", EXAMPLES / "batch" / "daily", "--metric", "js"),
        ("batch", "--pairwise", EXAMPLES / "batch" / "daily"),
    ],
)
def test_plot_fits_the_width(args, width):
    from typer.testing import CliRunner

    from klcli.cli import app

    result = CliRunner().invoke(app, [str(a) for a in args] + ["--plot"], env={"COLUMNS": str(width)})
    assert result.exit_code == 0, result.stderr
    wide = [line for line in result.stdout.splitlines() if len(line) > width]
    assert not wide
    assert "\x1b[" not in result.stdout  # not a terminal: no colour


def test_compare_plot_shows_the_bins_that_drive_kl():
    out = run_cli("compare", *BROWSERS, "--plot").stdout
    chart = out[out.index("bins adding most") :]
    lines = [line for line in chart.splitlines()[2:] if line.strip()]
    assert lines[0].startswith("samsung") and lines[0].rstrip().endswith("∞")  # q = 0 < p: the infinite term first
    assert lines[1].startswith("opera") and "0.0%" in lines[1]


def test_compare_plot_sums_the_rest_in_one_row():
    out = run_cli("compare", EXAMPLES / "latency_today.csv", EXAMPLES / "latency_baseline.csv", "--plot").stdout
    assert "(20 more)" in out
    shares = re.findall(r"(\d+\.\d)% │ (\d+\.\d)%", out)
    assert len(shares) == 11
    assert sum(float(p) for p, _ in shares) == pytest.approx(100, abs=0.6)
    assert sum(float(q) for _, q in shares) == pytest.approx(100, abs=0.6)


def test_colour_only_on_a_terminal_and_never_with_no_color(monkeypatch):
    from rich.console import Console

    from klcli.compare import compare_sources
    from klcli.report.terminal import comparison_plot

    c = compare_sources(str(BROWSERS[0]), str(BROWSERS[1]))

    def render(force_terminal: bool):
        buffer = io.StringIO()
        system = "standard" if force_terminal else "auto"
        Console(file=buffer, width=80, force_terminal=force_terminal, color_system=system).print(comparison_plot(c, width=80))
        return buffer.getvalue()

    colour = re.compile(r"\x1b\[(?:[0-9]+;)*(?:3[0-8]|4[0-8]|9[0-7])[;m]")  # bold is not a colour (no-color.org)
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert colour.search(render(force_terminal=True))
    assert "\x1b[" not in render(force_terminal=False)
    monkeypatch.setenv("NO_COLOR", "1")
    assert not colour.search(render(force_terminal=True))


@pytest.mark.parametrize("fmt", ["json", "csv"])
@pytest.mark.parametrize("command", [("compare", "0.2,0.8", "0.5,0.5"), ("batch", "--pairwise", str(EXAMPLES / "batch" / "daily"))])
def test_plot_with_a_format_for_machines_is_an_error(command, fmt):
    result = run_cli(*command, "--plot", "--format", fmt)
    assert result.exit_code == 2
    assert result.stderr.startswith("klcli: error: --plot draws pictures beside --format table") and result.stderr.count("\n") == 1


def test_data_is_never_markup_in_the_terminal(tmp_path):
    p, q = tmp_path / "p.json", tmp_path / "q.json"
    p.write_text(json.dumps({"[bold]x[/bold]": 1, ":smile:": 2, "a\u001b[31mred": 3}))
    q.write_text(json.dumps({"[bold]x[/bold]": 2, ":smile:": 2, "a\u001b[31mred": 1}))
    out = run_cli("compare", p, q, "--plot").stdout
    assert "[bold]x[/bold]" in out and ":smile:" in out and "\u001b" not in out and "a\\x1b[31mred" in out


# ---------------------------------------------------------------------------
# --format html


def test_compare_page_is_offline_and_holds_values_and_bins():
    needs_matplotlib()
    result = run_cli("compare", *BROWSERS, "--format", "html")
    assert result.exit_code == 0
    page = result.stdout
    check_offline(page)
    record = run_cli("compare", *BROWSERS, "--format", "json").json()
    from klcli.render import format_number

    assert format_number(record["js"]) in page
    assert page.count("<svg") == 2 and "Which bins drive KL(P‖Q)" in page
    assert "samsung" in page and "<metadata>" not in page


def test_html_escapes_names_and_labels(tmp_path):
    needs_matplotlib()
    evil = '<script>alert("x")</script>'
    p, q = tmp_path / "p.json", tmp_path / "q.json"
    p.write_text(json.dumps({evil: 1, "$x^2$": 2, "a&b": 3}))
    q.write_text(json.dumps({evil: 2, "$x^2$": 1, "a&b": 1}))
    page = run_cli("compare", p, q, "--format", "html").stdout
    check_offline(page)
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert "$x^2$" in page  # a label with dollars stays text, not mathtext
    assert "a&amp;b" in page


def test_batch_page_lists_every_file(tmp_path):
    needs_matplotlib()
    daily = EXAMPLES / "batch" / "daily"
    page = run_cli("batch", "-r", EXAMPLES / "batch" / "reference.csv", daily, "--format", "html").stdout
    check_offline(page)
    for name in os.listdir(daily):
        assert name in page


def test_pairwise_page_is_in_cluster_order():
    needs_matplotlib()
    from klcli.batch import pairwise_matrix
    from klcli.report.terminal import cluster_display_order

    daily = EXAMPLES / "batch" / "daily"
    files = sorted(str(daily / f) for f in os.listdir(daily))
    page = run_cli("batch", "--pairwise", daily, "--format", "html").stdout
    check_offline(page)
    m = pairwise_matrix(files)
    order = cluster_display_order(m)
    listed = re.findall(r"<tr><td class=\"num\">\d+</td><td>([^<]+)</td>", page)
    assert listed == [os.path.basename(m.files[i]) for i in order]
    assert sorted(listed) != listed or len(files) < 3  # the clustering moved something


def test_reports_of_100_columns_stay_small(tmp_path):
    needs_matplotlib()
    rng = np.random.default_rng(0)
    for i in range(100):
        np.savetxt(tmp_path / f"file_{i:03d}.csv", rng.dirichlet(np.ones(100)), fmt="%.8f")
    np.savetxt(tmp_path / "ref.txt", rng.dirichlet(np.ones(100)), fmt="%.8f")
    out = tmp_path / "out"
    out.mkdir()
    pairwise = run_cli("batch", "--pairwise", tmp_path, "--format", "html", "-o", out / "p.html")
    against = run_cli("batch", "-r", tmp_path / "ref.txt", tmp_path, "--format", "html", "-o", out / "b.html")
    assert pairwise.exit_code == 0 and against.exit_code == 0
    for name in ("p.html", "b.html"):
        size = (out / name).stat().st_size
        assert 10_000 < size < 2_000_000, (name, size)


def test_html_without_matplotlib_says_how_to_get_it(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "matplotlib" else real(name, *a))
    result = run_cli("compare", "0.2,0.8", "0.5,0.5", "--format", "html")
    assert result.exit_code == 2 and "pip install 'klcli[plot]'" in result.stderr


def test_families_has_no_html():
    result = run_cli("families", "--format", "html")
    assert result.exit_code == 2 and "compare and batch" in result.stderr


# ---------------------------------------------------------------------------
# --output


def test_output_writes_the_file_and_nothing_else(tmp_path):
    target = tmp_path / "r.json"
    result = run_cli("compare", "0.2,0.8", "0.5,0.5", "--format", "json", "--output", target)
    assert result.exit_code == 0 and result.stdout == ""
    assert json.loads(target.read_text())["kl_pq"] > 0
    assert os.listdir(tmp_path) == ["r.json"]


def test_output_keeps_a_threshold_exit_and_writes(tmp_path):
    target = tmp_path / "t.txt"
    result = run_cli("compare", "0.2,0.8", "0.5,0.5", "--fail-above", "0.01", "--output", target)
    assert result.exit_code == 1 and "KL(P‖Q)" in target.read_text()


@pytest.mark.parametrize("where", ["missing/dir/r.html", "a_file/r.html", "."])
def test_unwritable_output_is_one_line_and_no_file(tmp_path, where):
    (tmp_path / "a_file").write_text("x")
    before = sorted(os.listdir(tmp_path))
    result = run_cli("compare", "0.2,0.8", "0.5,0.5", "--output", tmp_path / where)
    assert result.exit_code == 2
    assert result.stderr.startswith("klcli: error: ") and "cannot write the output" in result.stderr
    assert result.stderr.count("\n") == 1
    assert sorted(os.listdir(tmp_path)) == before


def test_failed_run_leaves_the_old_file_alone(tmp_path):
    target = tmp_path / "r.json"
    target.write_text("old")
    result = run_cli("compare", "0.2,0.8", "0.5,0.5,0.1", "--format", "json", "--output", target)
    assert result.exit_code == 2
    assert target.read_text() == "old" and os.listdir(tmp_path) == ["r.json"]


# ---------------------------------------------------------------------------
# drift

DRIFT = (EXAMPLES / "drift" / "reference.csv", EXAMPLES / "drift" / "current.csv")


@pytest.mark.parametrize("width", (60, 80, 120))
def test_drift_plot_draws_each_drifting_column(width):
    from typer.testing import CliRunner

    from klcli.cli import app

    result = CliRunner().invoke(app, ["drift", str(DRIFT[0]), str(DRIFT[1]), "--plot"], env={"COLUMNS": str(width)})
    assert result.exit_code == 1
    plots = result.stdout[result.stdout.index("session_minutes: js_distance") :]
    assert "plan: js_distance" in plots
    assert "age: js_distance" not in result.stdout  # ok columns are not drawn
    assert all(len(line) <= width for line in plots.splitlines())
    shares = re.findall(r"(\d+\.\d)% │ +(\d+\.\d)%", plots.split("plan: js_distance")[1])
    assert sum(float(c) for c, _ in shares) == pytest.approx(100, abs=0.3)


def test_drift_plot_with_json_is_an_error():
    result = run_cli("drift", *DRIFT, "--plot", "--format", "json")
    assert result.exit_code == 2 and "--plot draws pictures beside --format table" in result.stderr


def test_drift_page_has_verdicts_p_values_and_a_histogram_per_column():
    needs_matplotlib()
    result = run_cli("drift", *DRIFT, "--format", "html")
    assert result.exit_code == 1  # drift found: the exit code does not depend on the format
    page = result.stdout
    check_offline(page)
    record = run_cli("drift", *DRIFT, "--format", "json").json()
    assert page.count("<svg") == len(record["columns"])
    for column in record["columns"]:
        assert f'>{column["column"]} <span class="{column["severity"]}">' in page
    assert "noise floor" in page and "p-value" in page and "&lt;1e-300" in page


def test_drift_page_of_100_columns_stays_under_2_mb(tmp_path):
    needs_matplotlib()
    rng = np.random.default_rng(3)
    n = 2000
    header = ",".join(f"c{j}" for j in range(100))
    reference = rng.normal(size=(n, 100))
    current = rng.normal(size=(n, 100)) + np.linspace(0, 1, 100)
    for path, data in (("ref.csv", reference), ("cur.csv", current)):
        np.savetxt(tmp_path / path, data, delimiter=",", header=header, comments="", fmt="%.4f")
    target = tmp_path / "drift.html"
    result = run_cli("drift", tmp_path / "ref.csv", tmp_path / "cur.csv", "--format", "html", "--output", target)
    assert result.exit_code == 1, result.stderr
    page = target.read_text()
    check_offline(page)
    assert page.count("<svg") == 100
    assert target.stat().st_size < 2_000_000, target.stat().st_size


def test_drift_output_is_atomic(tmp_path):
    result = run_cli("drift", *DRIFT, "--format", "json", "--output", tmp_path / "no" / "such.json")
    assert result.exit_code == 2 and "cannot write the output" in result.stderr and os.listdir(tmp_path) == []
    assert run_cli("drift", *DRIFT, "--format", "json", "--output", tmp_path / "d.json").exit_code == 1
    assert json.loads((tmp_path / "d.json").read_text())["drifted"] is True


def test_batch_plot_draws_each_files_metric():
    from klcli.report.terminal import short

    args = ("batch", "-r", EXAMPLES / "batch" / "reference.csv", EXAMPLES / "batch" / "daily")
    out = run_cli(*args, "--plot", "--metric", "js").stdout
    chart = out[out.index("JS divergence of each file") :]
    for record in run_cli(*args, "--format", "json").json():
        name = os.path.basename(record["file"])
        line = next(line for line in chart.splitlines() if line.startswith(name))
        assert line.split()[-1] == short(record["js"])


def test_batch_page_says_which_file_failed(tmp_path):
    needs_matplotlib()
    (tmp_path / "a.csv").write_text("1\n2\n3\n")
    (tmp_path / "b.csv").write_text("1\n-2\n3\n")
    target = tmp_path / "out.html"
    result = run_cli("batch", "-r", "1,1,1", tmp_path / "a.csv", tmp_path / "b.csv", "--keep-going", "--format", "html", "-o", target)
    assert result.exit_code == 2 and "1 of 2 files could not be compared" in result.stderr
    page = target.read_text()
    assert "failed</span>" in page and "b.csv" in page


def test_large_batches_stay_readable(tmp_path):
    needs_matplotlib()
    rng = np.random.default_rng(5)
    np.save(tmp_path / "p.npy", rng.dirichlet(np.ones(8), size=1500))
    np.save(tmp_path / "q.npy", rng.dirichlet(np.ones(8), size=1500))
    args = ("compare", tmp_path / "p.npy", tmp_path / "q.npy", "--reduction", "none")
    page = run_cli(*args, "--format", "html").stdout
    assert "500 more rows" in page and "the 60 largest of 1500" in page
    values = np.array(run_cli(*args, "--format", "json").json()["kl_pq"])
    plot = run_cli(*args, "--plot").stdout
    drawn = [int(n) for n in re.findall(r"^row (\d+) ", plot, flags=re.M)]
    assert drawn == sorted(np.argsort(-values)[:40].tolist())
