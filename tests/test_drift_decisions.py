"""Drift decisions: significance, noise floor, severity, dataset rules, column statuses, outputs, limits."""

from __future__ import annotations

import csv
import io
import json
import math
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from typer.testing import CliRunner

from klcli.cli import app
from klcli.drift import CategoryCounts, ColumnCounts, Counts, DriftOptions, compare, metric_terms
from klcli.drift.metrics import g_test, holm, noise_floor, sample_metric

pd = pytest.importorskip("pandas")


def run(*args: str):
    return CliRunner().invoke(app, ["drift", *args])


def write(folder, name: str, frame) -> str:
    path = folder / name
    if name.endswith(".parquet"):
        frame.to_parquet(path, index=False)
    else:
        frame.to_csv(path, index=False)
    return str(path)


def report_of(result) -> dict:
    return json.loads(result.stdout)


def by_column(report: dict) -> dict:
    return {c["column"]: c for c in report["columns"]}


def categorical(counts: dict, missing: int = 0) -> ColumnCounts:
    return ColumnCounts("c", "categorical", categories=CategoryCounts(dict(counts), missing))


# ---------------------------------------------------------------------------
# Statistics against independent references


def test_g_test_matches_scipy_and_the_kl_form():
    from scipy.stats import chi2_contingency

    current, reference = np.array([5200, 4700, 100]), np.array([5000, 4900, 100])
    statistic, df, p, method = g_test(current, reference)
    expected, p_scipy, dof, _ = chi2_contingency(np.array([current, reference]), lambda_="log-likelihood", correction=False)
    assert method == "chi2" and df == dof == 2 and statistic == pytest.approx(expected, rel=1e-12)
    # G = 2 (n KL(ref || pooled) + m KL(cur || pooled)): from what klcli already computes
    pooled = (current + reference) / (current.sum() + reference.sum())
    kl = lambda a: float(np.sum(a / a.sum() * np.log(a / a.sum() / pooled)))  # noqa: E731
    assert statistic == pytest.approx(2 * (reference.sum() * kl(reference) + current.sum() * kl(current)), rel=1e-10)
    assert p == pytest.approx(p_scipy, rel=0.02)  # Williams' correction moves it a little


def test_permutation_p_values_are_valid_under_the_null():
    """Small tables: the permutation p-value is uniform-or-larger when nothing changed."""
    rng = np.random.default_rng(3)
    shares = np.array([0.5, 0.3, 0.15, 0.05])
    p_values = np.array([g_test(rng.multinomial(60, shares), rng.multinomial(40, shares))[2] for _ in range(300)])
    assert np.mean(p_values <= 0.05) <= 0.06 and np.mean(p_values <= 0.2) <= 0.23


def test_holm_matches_the_definition():
    p = [0.001, 0.04, 0.03, 0.2]
    adjusted = holm(p)
    assert adjusted == pytest.approx([0.004, 0.09, 0.09, 0.2])
    assert holm([]) == []


def test_noise_floor_follows_the_chi2_relation():
    """E[JS] ~ (K - 1) / (4 H) nats between two samples of one distribution."""
    reference, current = np.full(20, 1000), np.full(20, 250)
    harmonic = 2 * 20_000 * 5000 / 25_000
    assert noise_floor("js", current, reference) * math.log(2) == pytest.approx(19 / (4 * harmonic), rel=0.1)


def test_share_metrics_match_their_definitions():
    current, reference = np.array([30, 50, 20]), np.array([50, 40, 10])
    p, q = current / 100, reference / 100
    assert metric_terms("hellinger", current, reference)[0] == pytest.approx(math.sqrt(0.5 * np.sum((np.sqrt(p) - np.sqrt(q)) ** 2)))
    assert metric_terms("total_variation", current, reference)[0] == pytest.approx(0.2)
    assert metric_terms("linf", current, reference)[0] == pytest.approx(0.2)
    from scipy.stats import chi2_contingency

    assert metric_terms("chi2", current, reference)[0] == pytest.approx(chi2_contingency(np.array([current, reference]), correction=False)[0])


def test_sample_metrics_match_scipy():
    from scipy.stats import ks_2samp, wasserstein_distance

    rng = np.random.default_rng(4)
    a, b = rng.normal(0.3, 1, 700), rng.normal(0, 2, 900)
    assert sample_metric("ks", a, b) == pytest.approx(ks_2samp(a, b).statistic, abs=1e-12)
    assert sample_metric("wasserstein", a, b) == pytest.approx(wasserstein_distance(a, b) / np.std(b), rel=1e-10)


# ---------------------------------------------------------------------------
# The decision


def test_distance_alone_flags_small_fresh_samples_significance_does_not(tmp_path):
    """The issue's case: 5,000 reference rows, 80 fresh current rows of the same distribution."""
    rng = np.random.default_rng(0)

    def frame(n):
        return pd.DataFrame({"a": rng.normal(size=n), "b": rng.exponential(size=n), "c": rng.choice(list("pqrs"), n), "d": rng.integers(0, 8, n)})

    reference = write(tmp_path, "ref.csv", frame(5000))
    flagged = {"default": 0, "distance": 0}
    for i in range(12):
        current = write(tmp_path, f"cur{i}.csv", frame(80))
        flagged["default"] += run(reference, current, "--format", "json").exit_code
        flagged["distance"] += run(reference, current, "--format", "json", "--no-significance").exit_code
    assert flagged["default"] <= 1 and flagged["distance"] >= 9, flagged


def test_a_large_change_in_a_small_sample_is_found(tmp_path):
    rng = np.random.default_rng(1)
    reference = write(tmp_path, "ref.csv", pd.DataFrame({"x": rng.normal(size=5000)}))
    current = write(tmp_path, "cur.csv", pd.DataFrame({"x": rng.normal(1.5, 1, 60)}))
    result = run(reference, current, "--format", "json")
    column = report_of(result)["columns"][0]
    assert result.exit_code == 1 and column["severity"] == "drift" and column["significant"] is True and column["p_value"] < 1e-6


def test_severity_levels_and_warn_above():
    def counts(n_red, n_blue):
        return Counts("t", n_red + n_blue, {"c": categorical({"red": n_red, "blue": n_blue})})

    # above the threshold but not significant (tiny tables): warn, no drift
    small = compare(counts(8, 2), counts(5, 5), DriftOptions())
    column = small.columns[0]
    assert column.value > 0.1 and column.significant is False and column.severity == "warn" and not small.drifted
    # --no-significance restores the distance-only rule
    assert compare(counts(8, 2), counts(5, 5), DriftOptions(significance=False)).columns[0].severity == "drift"
    # --warn-above: warn below the threshold
    mild = compare(counts(5000, 5000), counts(5150, 4850), DriftOptions(warn_above=0.01)).columns[0]
    assert 0.01 < mild.value < 0.1 and mild.severity == "warn"
    assert compare(counts(5000, 5000), counts(5150, 4850), DriftOptions()).columns[0].severity == "ok"
    # per-column warn_above from the config
    config = {"columns": {"c": {"warn_above": 0.01}}}
    assert compare(counts(5000, 5000), counts(5150, 4850), DriftOptions(config=config)).columns[0].severity == "warn"
    # --alpha: a stricter level turns a borderline significant change into a warning
    borderline = compare(counts(5000, 5000), counts(4300, 5700), DriftOptions(threshold=0.05))
    assert borderline.columns[0].severity == "drift"
    assert compare(counts(5000, 5000), counts(4300, 5700), DriftOptions(threshold=0.05, alpha=1e-40)).columns[0].severity == "warn"


def test_dataset_rules(tmp_path):
    rng = np.random.default_rng(2)
    n = 3000
    ref = pd.DataFrame({f"x{i}": rng.normal(size=n) for i in range(4)})
    cur = pd.DataFrame({f"x{i}": rng.normal(1.0 if i < 2 else 0.0, 1, n) for i in range(4)})
    reference, current = write(tmp_path, "ref.parquet", ref), write(tmp_path, "cur.parquet", cur)
    cases = [([], 1), (["--fail-if-count", "2"], 1), (["--fail-if-count", "3"], 0), (["--fail-if-share", "0.5"], 1), (["--fail-if-share", "0.75"], 0)]
    for extra, code in cases:
        result = run(reference, current, "--format", "json", *extra)
        report = report_of(result)
        assert result.exit_code == code and report["drifted"] is bool(code) and report["drifted_columns"] == 2, (extra, result.stderr)
    assert "klcli: drift in 2 of 4 columns: x0, x1" in run(reference, current).stderr
    assert "below the rule" in run(reference, current, "--fail-if-count", "3", "--format", "markdown").stdout


# ---------------------------------------------------------------------------
# Column statuses: every one, and the run goes on


@pytest.fixture()
def status_tables(tmp_path):
    rng = np.random.default_rng(5)
    n, m = 400, 300
    ref = pd.DataFrame(
        {
            "ok": rng.normal(size=n),
            "constant": np.full(n, 3.0),
            "all_missing": np.full(n, np.nan),
            "id": np.arange(n),
            "user": [f"u{i}" for i in range(n)],
            "nested": [[1, 2]] * n,
            "removed": rng.normal(size=n),
            "gone_now": rng.normal(size=n),
        }
    )
    cur = pd.DataFrame(
        {
            "ok": rng.normal(size=m),
            "constant": np.full(m, 3.0),
            "all_missing": rng.normal(size=m),
            "id": np.arange(n, n + m),
            "user": [f"v{i}" for i in range(m)],
            "nested": [[3]] * m,
            "added": rng.normal(size=m),
            "gone_now": np.full(m, np.nan),
        }
    )
    return write(tmp_path, "ref.parquet", ref), write(tmp_path, "cur.parquet", cur), tmp_path


def test_every_column_status(status_tables):
    reference, current, _ = status_tables
    result = run(reference, current, "--format", "json")
    columns = by_column(report_of(result))
    statuses = {name: (c["status"], c["severity"]) for name, c in columns.items()}
    assert statuses == {
        "ok": ("compared", "ok"),
        "constant": ("constant", "ok"),
        "all_missing": ("all_missing", "drift"),
        "id": ("identifier", "ok"),
        "user": ("identifier", "ok"),
        "nested": ("unsupported", "warn"),
        "removed": ("removed", "warn"),
        "gone_now": ("compared", "drift"),
        "added": ("added", "warn"),
    }
    assert result.exit_code == 1  # all_missing and gone_now drift: the missing share changed
    assert "--include id" in columns["id"]["reason"] and "only in" in columns["added"]["reason"]
    assert "no values in" in columns["gone_now"]["reason"] and columns["gone_now"]["current_missing_rate"] == 1.0
    for name in ("id", "user", "nested", "removed", "added"):
        assert columns[name]["value"] is None and columns[name]["p_value"] is None and columns[name]["noise_floor"] is None
    for name in ("ok", "constant", "all_missing", "gone_now"):
        assert 0 <= columns[name]["p_value"] <= 1 and columns[name]["noise_floor"] >= 0


def test_schema_changes_fail_only_on_request(status_tables):
    reference, current, _ = status_tables
    base = ["--columns", "ok,added,removed"]
    assert run(reference, current, *base).exit_code == 0
    result = run(reference, current, *base, "--fail-on-schema", "--format", "json")
    assert result.exit_code == 1 and {c["column"] for c in report_of(result)["columns"] if c["drifted"]} == {"added", "removed"}


def test_include_and_config_include_exclude(status_tables):
    reference, current, folder = status_tables
    result = run(reference, current, "--columns", "id,ok", "--include", "id", "--format", "json")
    columns = by_column(report_of(result))
    assert columns["id"]["status"] == "compared" and columns["id"]["severity"] == "drift"  # new IDs lie beyond the reference
    config = folder / "drift.toml"
    config.write_text('include = ["user"]\nexclude = ["nested", "removed", "added", "all_missing", "gone_now"]\n')
    columns = by_column(report_of(run(reference, current, "--config", str(config), "--format", "json")))
    assert set(columns) == {"ok", "constant", "id", "user"} and columns["user"]["status"] == "compared"


def test_empty_tables_are_a_status(tmp_path):
    reference = write(tmp_path, "ref.csv", pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": list("xyz")}))
    header = tmp_path / "header.csv"
    header.write_text("a,b\n")
    for args in ((reference, str(header)), (str(header), reference)):
        result = run(*args, "--format", "json")
        assert result.exit_code == 0 and {c["status"] for c in report_of(result)["columns"]} == {"empty"}, result.stderr
        assert all(c["severity"] == "warn" and "has no rows" in c["reason"] for c in report_of(result)["columns"])


def test_small_sample_warning_names_the_column(tmp_path):
    rng = np.random.default_rng(6)
    reference = write(tmp_path, "ref.csv", pd.DataFrame({"tiny": rng.normal(size=40)}))
    current = write(tmp_path, "cur.csv", pd.DataFrame({"tiny": rng.normal(size=30)}))
    result = run(reference, current, "--format", "json")
    assert result.exit_code == 0 and "klcli: warning: tiny: small sample: the noise floor" in result.stderr
    assert report_of(result)["warnings"][0].startswith("tiny: small sample")


# ---------------------------------------------------------------------------
# Types: dates, big integers, infinities, huge ranges


def test_date_only_csv_columns_are_binned_and_shown_as_dates(tmp_path):
    days = pd.date_range("2024-01-01", periods=3000, freq="h")
    reference = write(tmp_path, "ref.csv", pd.DataFrame({"day": days.date.astype(str)}))
    current = write(tmp_path, "cur.csv", pd.DataFrame({"day": (days + pd.Timedelta(days=30)).date.astype(str)}))
    result = run(reference, current, "--format", "json")
    column = report_of(result)["columns"][0]
    assert result.exit_code == 1 and column["kind"] == "numeric"
    assert column["top_contributors"][0]["bin"] == "> 2024-05-04" and column["top_contributors"][1]["bin"].startswith("[2024-01-")


def test_int64_beyond_2_53(tmp_path):
    base = 2**62
    ref = pd.DataFrame({"stamp": base + np.arange(0, 30_000, 3) * 1024})
    cur = pd.DataFrame({"stamp": base + np.arange(0, 30_000, 3) * 1024 + 7})
    reference, current = write(tmp_path, "ref.parquet", ref), write(tmp_path, "cur.parquet", cur)
    column = report_of(run(reference, current, "--format", "json"))["columns"][0]
    assert column["status"] == "identifier"
    column = report_of(run(reference, current, "--format", "json", "--include", "stamp"))["columns"][0]
    assert column["status"] == "compared" and column["severity"] == "ok"


def test_infinities_and_huge_ranges_print_no_warnings(tmp_path):
    values = pd.DataFrame({"x": [np.inf, -np.inf, 0.0, 1.0, 2.0, 1e308, -1e308] * 30})
    path = write(tmp_path, "wide.csv", values)
    for bins in ("auto", "fd", "doane", "12"):
        done = subprocess.run(
            [sys.executable, "-W", "error::RuntimeWarning", "-m", "klcli", "drift", path, path, "--bins", bins, "--format", "json"],
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0 and "Warning" not in done.stderr and "Traceback" not in done.stderr, done.stderr
        column = json.loads(done.stdout)["columns"][0]
        assert column["value"] == 0 and math.isfinite(column["noise_floor"])


@pytest.mark.parametrize("bins", ["1000000000", "quantile:100000000"])
def test_bin_limit_refused_before_allocating(tmp_path, bins):
    path = write(tmp_path, "t.csv", pd.DataFrame({"x": [1.0, 2.0, 3.0]}))
    result = run(path, path, "--bins", bins)
    assert result.exit_code == 2 and "more than 10,000 bins (raise the limit with --max-bins)" in result.stderr
    assert run(path, path, "--bins", "20000", "--max-bins", "20000").exit_code == 0


def test_non_utf8_config_and_header_are_one_line_errors(tmp_path):
    path = write(tmp_path, "t.csv", pd.DataFrame({"x": [1.0, 2.0, 3.0]}))
    config = tmp_path / "drift.toml"
    config.write_bytes(b'metric = "js\x80"\n')
    result = run(path, path, "--config", str(config))
    assert result.exit_code == 2 and "not UTF-8 text (byte 0x80" in result.stderr and "Traceback" not in result.stderr


# ---------------------------------------------------------------------------
# Outputs


@pytest.fixture()
def hostile(tmp_path):
    """Column and category names with Markdown, HTML, control and escape characters."""
    n = 3000
    rng = np.random.default_rng(7)
    ref = pd.DataFrame({"a|b<c>": rng.choice(["x|y", "<b>", "bell\x01", "esc\x1b[31m"], n), "v": rng.normal(size=n)})
    cur = pd.DataFrame({"a|b<c>": rng.choice(["x|y", "<b>", "bell\x01", "esc\x1b[31m"], n, p=[0.7, 0.1, 0.1, 0.1]), "v": rng.normal(1, 1, n)})
    return write(tmp_path, "ref.parquet", ref), write(tmp_path, "cur.parquet", cur), tmp_path


def test_top_is_honoured_in_every_format(hostile):
    reference, current, folder = hostile
    for top in ("1", "4"):
        k = int(top)
        report = report_of(run(reference, current, "--top", top, "--format", "json"))
        assert all(len(c["top_contributors"]) == k for c in report["columns"])
        rows = list(csv.DictReader(io.StringIO(run(reference, current, "--top", top, "--format", "csv").stdout)))
        assert all(r["top_contributors"].count("%)") == k for r in rows)
        markdown = run(reference, current, "--top", top, "--format", "markdown").stdout
        assert all(line.count("%)") == k for line in markdown.splitlines() if line.startswith("| v "))
        table = run(reference, current, "--top", top).stdout
        assert table.count("%)") == 2 * k
        junit = folder / "j.xml"
        run(reference, current, "--top", top, "--junit", str(junit), "--format", "json")
        texts = [e.text for e in ET.parse(junit).iter() if e.tag in ("failure", "system-out")]
        assert all(t.count("%)") == k for t in texts)


def test_markdown_escapes_data(hostile):
    reference, current, _ = hostile
    markdown = run(reference, current, "--format", "markdown").stdout
    row = next(line for line in markdown.splitlines() if line.startswith("| a"))
    assert row.startswith("| a\\|b&lt;c&gt; |") and "<b>" not in markdown and "\x1b" not in markdown and "\x01" not in markdown
    assert len(row.replace("\\|", "").split("|")) == 11  # the data's | does not add cells


def test_csv_booleans(hostile):
    reference, current, _ = hostile
    rows = list(csv.DictReader(io.StringIO(run(reference, current, "--format", "csv").stdout)))
    assert {r["drifted"] for r in rows} <= {"true", "false"} and {r["significant"] for r in rows} <= {"true", "false"}


def test_junit_is_well_formed_for_any_name(hostile):
    reference, current, folder = hostile
    junit = folder / "drift.xml"
    result = run(reference, current, "--junit", str(junit), "--format", "json")
    assert result.exit_code == 1
    root = ET.parse(junit).getroot()
    names = [case.get("name") for case in root.iter("testcase")]
    assert names == ["a|b<c>", "v"]
    failure_text = "".join(e.text or "" for e in root.iter("failure"))
    assert "\\x01" in failure_text or "\\x1b" in failure_text or "x|y" in failure_text


def test_terminal_output_escapes_control_characters(hostile):
    reference, current, _ = hostile
    result = run(reference, current)
    assert "\x1b" not in result.stdout and "\x01" not in result.stdout and "\x1b" not in result.stderr
    assert "\\x1b[31m" in result.stdout or "\\x01" in result.stdout


# ---------------------------------------------------------------------------
# Exit codes


def test_exit_codes_are_pinned(tmp_path):
    rng = np.random.default_rng(8)
    reference = write(tmp_path, "ref.csv", pd.DataFrame({"x": rng.normal(size=2000)}))
    same = write(tmp_path, "same.csv", pd.DataFrame({"x": rng.normal(size=2000)}))
    shifted = write(tmp_path, "shift.csv", pd.DataFrame({"x": rng.normal(1, 1, 2000)}))
    assert run(reference, same).exit_code == 0
    assert run(reference, shifted).exit_code == 1
    for bad in (
        ["--alpha", "0"],
        ["--alpha", "1.5"],
        ["--warn-above", "-1"],
        ["--fail-if-share", "0"],
        ["--fail-if-count", "0"],
        ["--metric", "nope"],
    ):
        result = run(reference, same, *bad)
        assert result.exit_code == 2 and "Traceback" not in result.stderr, bad


def test_value_metrics_on_numeric_columns_and_their_fallback(tmp_path):
    rng = np.random.default_rng(9)
    ref = pd.DataFrame({"x": rng.normal(size=3000), "c": rng.choice(list("abc"), 3000), "gone": rng.normal(size=3000)})
    cur = pd.DataFrame({"x": rng.normal(0.5, 1, 2000), "c": rng.choice(list("abc"), 2000), "gone": np.full(2000, np.nan)})
    reference, current = write(tmp_path, "ref.parquet", ref), write(tmp_path, "cur.parquet", cur)
    from scipy.stats import ks_2samp

    for metric in ("wasserstein", "ks"):
        columns = by_column(report_of(run(reference, current, "--metric", metric, "--format", "json")))
        assert columns["x"]["metric"] == metric and columns["x"]["severity"] == "drift"
        assert columns["x"]["noise_floor_method"] == "permutation of subsamples, rescaled" and columns["x"]["noise_floor"] < 0.1
        assert columns["c"]["metric"] == "js_distance" and columns["gone"]["metric"] == "js_distance"  # no values to compare
    ks = by_column(report_of(run(reference, current, "--metric", "ks", "--format", "json")))["x"]["value"]
    assert ks == pytest.approx(ks_2samp(ref["x"], cur["x"]).statistic, abs=1e-12)  # all rows are in the samples


def test_a_column_that_is_not_numbers_is_unreadable_and_the_run_goes_on(tmp_path):
    rng = np.random.default_rng(10)
    ref = pd.DataFrame({"plan": rng.choice(["free", "pro"], 500), "x": rng.normal(size=500)})
    cur = pd.DataFrame({"plan": rng.choice(["free", "pro"], 500), "x": rng.normal(size=500)})
    reference, current = write(tmp_path, "ref.csv", ref), write(tmp_path, "cur.csv", cur)
    result = run(reference, current, "--numeric", "plan", "--format", "json")
    columns = by_column(report_of(result))
    assert result.exit_code == 0 and columns["plan"]["status"] == "unreadable" and columns["plan"]["severity"] == "warn"
    assert re.search(r"ref.csv: column 'plan', row 1: '(free|pro)' is not a number", columns["plan"]["reason"])
    assert columns["x"]["status"] == "compared"


def test_chi2_survival_matches_scipy():
    from scipy.special import gammaincc

    from klcli.drift.metrics import chi2_survival

    for df in (1, 2, 3, 10, 21, 101, 1000):
        for x in (1e-6, 0.5, df, 2.0 * df, df + 10 * math.sqrt(2 * df), 600.0):
            assert chi2_survival(x, df) == pytest.approx(gammaincc(df / 2, x / 2), rel=1e-10, abs=1e-300)


def test_drift_imports_no_scipy(tmp_path):
    rng = np.random.default_rng(11)
    path = write(tmp_path, "t.parquet", pd.DataFrame({"x": rng.normal(size=6000), "c": rng.choice(list("ab"), 6000)}))
    code = (
        "import sys; from klcli.drift import check_drift; from klcli.tables import open_table; "
        f"check_drift(open_table({path!r}), open_table({path!r})); print(sorted(m for m in ('scipy', 'pandas') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_timestamps_and_times_of_day_are_shown_as_such(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    seconds = np.arange(0, 86_400, 7)
    for name, shift in (("ref", 0), ("cur", 6 * 3600)):
        stamps = pa.array((seconds + shift + 1_700_000_000) * 10**6).cast(pa.timestamp("us"))
        times = pa.array(((seconds + shift) % 86_400) * 10**6).cast(pa.time64("us"))
        pq.write_table(pa.table({"stamp": stamps, "time": times}), tmp_path / f"{name}.parquet")
    columns = by_column(report_of(run(str(tmp_path / "ref.parquet"), str(tmp_path / "cur.parquet"), "--format", "json", "--include", "stamp")))
    assert columns["stamp"]["top_contributors"][0]["bin"] == "> 2023-11-15 22:13:14"
    assert all(":" in c["bin"] and "e+" not in c["bin"] for c in columns["time"]["top_contributors"])


def test_a_constant_reference_detects_any_other_value():
    def counts(bins):
        return Counts("t", int(sum(bins)), {"x": ColumnCounts("x", "numeric", edges=np.array([3.0, np.nextafter(3.0, 4.0)]), bins=np.array(bins))})

    same = compare(counts([0, 500, 0, 0]), counts([0, 300, 0, 0]), DriftOptions()).columns[0]
    moved = compare(counts([0, 500, 0, 0]), counts([0, 100, 200, 0]), DriftOptions()).columns[0]
    assert (same.status, same.severity) == ("constant", "ok")
    assert (moved.status, moved.severity) == ("constant", "drift") and moved.p_value < 1e-6
