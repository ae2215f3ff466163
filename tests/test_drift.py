"""The drift core: bins, counts, metrics, column plans and the streaming check."""

from __future__ import annotations

import io
import math
import re
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.distance import jensenshannon

from klcli.drift import (
    DEFAULT_THRESHOLDS,
    METRICS,
    SHARE_FLOOR,
    CategoryCounts,
    DriftOptions,
    RowSample,
    bin_labels,
    category_bins,
    check_drift,
    coarsen_counts,
    count_bins,
    default_category_limit,
    fit_edges,
    load_config,
    metric_terms,
    parse_bins,
    plan_columns,
)
from klcli.errors import InputError, UsageError
from klcli.tables import open_table


def table_from(frame, fmt: str = "parquet"):
    """An in-memory table, as if read from standard input."""
    buffer = io.BytesIO()
    if fmt == "parquet":
        frame.to_parquet(buffer, index=False)
    else:
        buffer.write(frame.to_csv(index=False).encode())
    buffer.seek(0)
    return open_table("-", stdin=buffer)


def mixed_frame(n: int, rng, *, shift: float = 0.0, mix=(0.5, 0.3, 0.2), missing: float = 0.0):
    """Every column kind: normal, skewed, low-cardinality integer, text and boolean columns."""
    import pandas as pd

    skewed = rng.lognormal(0.0, 1.5, n)
    skewed[rng.random(n) < missing] = np.nan
    return pd.DataFrame(
        {
            "normal": rng.normal(shift, 1.0, n),
            "skewed": skewed,
            "children": rng.integers(0, 6, n),
            "colour": rng.choice(["red", "green", "blue"], n, p=list(mix)),
            "member": rng.random(n) < 0.3,
        }
    )


def reference_count_bins(edges, values):
    index = np.searchsorted(edges, values, side="right")
    counts = np.bincount(index, minlength=len(edges) + 1)
    missing = int(np.isnan(values).sum())
    counts[-1] -= missing
    return np.append(counts, missing)


# ---------------------------------------------------------------------------
# Bins


def test_parse_bins():
    assert parse_bins("auto").adaptive and parse_bins("auto").count == 10
    assert parse_bins("quantile:20").method == "quantile"
    assert parse_bins("7").method == "width" and parse_bins("7").count == 7
    assert parse_bins("FD").method == "fd"


@pytest.mark.parametrize("text", ["", "zero", "quantile:", "quantile:x", "0", "-3", "hist:4"])
def test_parse_bins_rejects(text):
    with pytest.raises(UsageError, match="--bins"):
        parse_bins(text)


@pytest.mark.parametrize("bins", ["quantile:10", "quantile:20", "12", "fd", "sturges", "doane"])
def test_reference_fills_only_the_interior_bins(bins):
    values = np.random.default_rng(0).lognormal(0, 1, 5000)
    edges = fit_edges(parse_bins(bins), values, minimum=values.min(), maximum=values.max(), count=values.size)
    counts = count_bins(edges, values)
    assert counts[0] == 0 and counts[-2] == 0 and counts[-1] == 0
    assert counts.sum() == values.size


def test_quantile_bins_hold_equal_mass():
    values = np.random.default_rng(1).exponential(size=100_000)
    edges = fit_edges(parse_bins("quantile:10"), values, minimum=values.min(), maximum=values.max(), count=values.size)
    inner = count_bins(edges, values)[1:-2]
    assert len(inner) == 10 and np.all(np.abs(inner - 10_000) <= 1)


def test_quantile_edges_collapse_on_ties():
    values = np.array([0.0] * 90 + list(range(1, 11)), dtype=float)
    edges = fit_edges(parse_bins("quantile:10"), values, minimum=0.0, maximum=10.0, count=100)
    assert len(np.unique(edges)) == len(edges) and edges[0] == 0.0


def test_constant_column_has_one_bin():
    edges = fit_edges(parse_bins("auto"), np.full(50, 3.0), minimum=3.0, maximum=3.0, count=50)
    assert count_bins(edges, np.array([2.0, 3.0, 4.0, np.nan])).tolist() == [1, 1, 1, 1]


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(st.one_of(st.floats(-1e6, 1e6), st.just(math.nan), st.just(math.inf), st.just(-math.inf)), min_size=0, max_size=300),
    edges=st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=80, unique=True),
)
def test_count_bins_matches_a_binary_search(values, edges):
    """Both strategies (comparisons for few edges, sorting for many) agree with searchsorted."""
    edges = np.sort(np.array(edges))
    values = np.array(values, dtype=float)
    assert count_bins(edges, values).tolist() == reference_count_bins(edges, values).tolist()


def test_count_bins_across_blocks():
    rng = np.random.default_rng(2)
    values = rng.normal(size=200_003)
    values[rng.random(values.size) < 0.05] = np.nan
    for k in (5, 200):
        edges = np.sort(rng.normal(size=k))
        assert count_bins(edges, values).tolist() == reference_count_bins(edges, values).tolist()


def test_bin_labels_name_the_overflow_bins():
    edges = fit_edges(parse_bins("quantile:2"), np.array([0.0, 1.0, 2.0, 3.0]), minimum=0.0, maximum=3.0, count=4)
    assert bin_labels(edges) == ["< 0", "[0, 1.5)", "[1.5, 3]", "> 3", "(missing)"]


def test_coarsen_counts_sums_the_merged_bins():
    fine = np.array([0.0, 1.0, 2.0, 3.0, 4.0])
    counts = np.array([1, 2, 3, 4, 5, 6, 7])
    assert coarsen_counts(fine, counts, np.array([0.0, 2.0, 4.0])).tolist() == [1, 5, 9, 6, 7]
    assert coarsen_counts(fine, counts, fine).tolist() == counts.tolist()


# ---------------------------------------------------------------------------
# Metrics


def test_js_distance_matches_scipy():
    rng = np.random.default_rng(3)
    current, reference = rng.integers(0, 100, 12), rng.integers(1, 100, 12)
    value, parts = metric_terms("js_distance", current, reference)
    assert value == pytest.approx(jensenshannon(current, reference, base=2), rel=1e-12)
    assert parts.sum() == pytest.approx(1.0) and np.all(parts >= 0)
    js, _ = metric_terms("js", current, reference)
    assert js == pytest.approx(value**2, rel=1e-12)


def test_kl_type_metrics_use_floored_shares():
    current, reference = np.array([50, 50, 0]), np.array([40, 0, 60])
    p, q = np.maximum([0.5, 0.5, 0.0], SHARE_FLOOR), np.maximum([0.4, 0.0, 0.6], SHARE_FLOOR)
    p, q = p / p.sum(), q / q.sum()
    kl = float(np.sum(p * np.log(p / q)))
    kl_reverse = float(np.sum(q * np.log(q / p)))
    assert metric_terms("kl", current, reference)[0] == pytest.approx(kl, rel=1e-12)
    assert metric_terms("kl_reverse", current, reference)[0] == pytest.approx(kl_reverse, rel=1e-12)
    assert metric_terms("symmetric_kl", current, reference)[0] == pytest.approx(kl + kl_reverse, rel=1e-12)
    assert metric_terms("psi", current, reference)[0] == pytest.approx(float(np.sum((p - q) * np.log(p / q))), rel=1e-12)
    assert all(math.isfinite(metric_terms(m, current, reference)[0]) for m in METRICS)


@pytest.mark.parametrize("metric", METRICS)
def test_identical_shares_give_zero(metric):
    value, parts = metric_terms(metric, np.array([10, 0, 30]), np.array([20, 0, 60]))
    assert value == pytest.approx(0.0, abs=1e-15) and not parts.any()


def test_every_metric_has_a_default_threshold():
    assert set(DEFAULT_THRESHOLDS) == set(METRICS)


# ---------------------------------------------------------------------------
# Categories and sampling


def test_category_bins_pool_rare_and_unseen_categories():
    reference = CategoryCounts({"a": 50, "b": 30, "c": 15, "d": 5}, missing=2)
    current = CategoryCounts({"a": 40, "d": 10, "new": 7, "newer": 3})
    labels, ref, cur, unseen = category_bins(reference, current, max_categories=2)
    assert labels == ["a", "b", "(other)", "(unseen)", "(missing)"]
    assert ref.tolist() == [50, 30, 20, 0, 2] and cur.tolist() == [40, 0, 10, 10, 0]
    assert unseen == {"new": 7, "newer": 3}


def test_default_category_limit_grows_with_rows():
    assert default_category_limit(500) == 4 and default_category_limit(5000) == 20 and default_category_limit(2500) == 10


def test_row_sample_is_bounded_and_uniform():
    sample = RowSample(capacity=5_000, seed=1)
    for start in range(0, 200_000, 10_000):
        values = np.arange(start, start + 10_000, dtype=float)
        picked = sample.pick(values.size)
        sample.add("x", values if picked is None else values[picked])
        sample.thin()
    kept = sample.values("x")
    assert 5_000 <= kept.size <= 10_000
    assert np.mean(kept) == pytest.approx(100_000, rel=0.03)  # uniform over 0..200k


def test_row_sample_rate_from_the_row_count():
    assert RowSample(capacity=1000, expected_rows=1500).rate == 1.0
    assert RowSample(capacity=1000, expected_rows=300_000).rate == pytest.approx(0.005)


# ---------------------------------------------------------------------------
# The whole check


@pytest.mark.parametrize("n", [1_000, 5_000, 100_000])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fresh_sample_is_not_flagged(n, seed):
    rng = np.random.default_rng(seed)
    report = check_drift(table_from(mixed_frame(n, rng, missing=0.05)), table_from(mixed_frame(n, rng, missing=0.05)))
    assert not report.drifted, [(c.column, c.value) for c in report.columns]
    assert [c.kind for c in report.columns] == ["numeric", "numeric", "categorical", "categorical", "categorical"]


@pytest.mark.parametrize("metric", METRICS)
def test_defaults_of_every_metric_flag_a_shift_and_not_noise(metric):
    rng = np.random.default_rng(7)
    options = DriftOptions(metric=metric)
    same = check_drift(table_from(mixed_frame(3000, rng)), table_from(mixed_frame(3000, rng)), options)
    assert not same.drifted
    moved = check_drift(table_from(mixed_frame(3000, rng)), table_from(mixed_frame(3000, rng, shift=1.0, mix=(0.3, 0.3, 0.4))), options)
    assert {c.column for c in moved.columns if c.drifted} == {"normal", "colour"}


def test_one_sigma_shift_and_category_mix_are_flagged():
    rng = np.random.default_rng(4)
    report = check_drift(table_from(mixed_frame(3000, rng)), table_from(mixed_frame(3000, rng, shift=1.0, mix=(0.2, 0.3, 0.5))))
    by_name = {c.column: c for c in report.columns}
    assert report.drifted and by_name["normal"].drifted and by_name["colour"].drifted
    assert not by_name["skewed"].drifted and not by_name["children"].drifted
    assert by_name["colour"].top_contributors[0]["bin"] in ("red", "blue")


def test_values_beyond_the_reference_range_land_in_the_overflow_bin():
    import pandas as pd

    rng = np.random.default_rng(5)
    reference = pd.DataFrame({"x": rng.uniform(0, 1, 4000)})
    current = pd.DataFrame({"x": np.concatenate([rng.uniform(0, 1, 3000), rng.uniform(5, 6, 1000)])})
    column = check_drift(table_from(reference), table_from(current)).columns[0]
    assert column.drifted
    top = column.top_contributors[0]
    assert top["bin"].startswith("> ") and top["reference_share"] == 0 and top["current_share"] == pytest.approx(0.25)


def test_missing_values_are_their_own_bin():
    import pandas as pd

    rng = np.random.default_rng(6)
    values = rng.normal(size=4000)
    current = values.copy()
    current[:1000] = np.nan
    column = check_drift(table_from(pd.DataFrame({"x": values})), table_from(pd.DataFrame({"x": current}))).columns[0]
    assert column.reference_missing_rate == 0 and column.current_missing_rate == pytest.approx(0.25)
    assert column.drifted and column.top_contributors[0]["bin"] == "(missing)"


def test_unseen_categories_are_named():
    import pandas as pd

    reference = pd.DataFrame({"browser": ["chrome"] * 600 + ["firefox"] * 400})
    current = pd.DataFrame({"browser": ["chrome"] * 500 + ["firefox"] * 300 + ["arc"] * 150 + ["lynx"] * 50})
    column = check_drift(table_from(reference, "csv"), table_from(current, "csv")).columns[0]
    assert column.kind == "categorical" and column.drifted
    assert column.unseen_categories == ["arc", "lynx"] and column.unseen_count == 2
    assert column.current_unseen_rate == pytest.approx(0.2)
    record = column.record()
    assert record["unseen_categories"] == ["arc", "lynx"] and record["top_contributors"][0]["bin"] == "(unseen)"


def test_kind_overrides_and_integer_rule():
    import pandas as pd

    rng = np.random.default_rng(8)
    frame = pd.DataFrame({"code": rng.integers(0, 5, 2000), "age": rng.integers(18, 90, 2000), "zip": rng.integers(0, 5, 2000)})
    report = check_drift(table_from(frame, "csv"), table_from(frame, "csv"), DriftOptions(numeric=["code"], categorical=["age"]))
    assert [c.kind for c in report.columns] == ["numeric", "categorical", "categorical"]
    plain = check_drift(table_from(frame), table_from(frame))
    assert [c.kind for c in plain.columns] == ["categorical", "numeric", "categorical"]


def test_config_sets_metric_and_threshold_per_column(tmp_path):
    path = tmp_path / "drift.toml"
    path.write_text('metric = "psi"\nthreshold = 0.5\n\n[columns.normal]\nthreshold = 5.0\n\n[columns.colour]\nmetric = "js_distance"\n')
    rng = np.random.default_rng(9)
    options = DriftOptions(config=load_config(str(path)))
    report = check_drift(table_from(mixed_frame(3000, rng)), table_from(mixed_frame(3000, rng, shift=1.0, mix=(0.2, 0.3, 0.5))), options)
    by_name = {c.column: c for c in report.columns}
    assert (by_name["normal"].metric, by_name["normal"].threshold, by_name["normal"].drifted) == ("psi", 5.0, False)
    assert (by_name["colour"].metric, by_name["colour"].threshold, by_name["colour"].drifted) == ("js_distance", 0.1, True)
    assert (by_name["skewed"].metric, by_name["skewed"].threshold) == ("psi", 0.5)


def test_command_line_beats_the_config_defaults(tmp_path):
    path = tmp_path / "drift.toml"
    path.write_text('metric = "psi"\nthreshold = 0.5\n')
    rng = np.random.default_rng(10)
    options = DriftOptions(config=load_config(str(path)), metric="kl")
    report = check_drift(table_from(mixed_frame(1000, rng)), table_from(mixed_frame(1000, rng)), options)
    assert {(c.metric, c.threshold) for c in report.columns} == {("kl", 0.05)}


@pytest.mark.parametrize(
    "text, message",
    [
        ("metric = 'nope'", "`metric` must be one of"),
        ("threshold = -1", "`threshold` must be a finite number"),
        ("treshold = 0.2", "unknown key 'treshold'"),
        ("[columns.x]\nkind = 'text'", "`kind` must be numeric or categorical"),
        ("[columns.x]\nbins = 4", "unknown key 'bins'"),
        ("metric = ", "not valid TOML"),
        ("bins = 'quantile:x'", "--bins"),
    ],
)
def test_bad_config(tmp_path, text, message):
    path = tmp_path / "drift.toml"
    path.write_text(text)
    with pytest.raises((InputError, UsageError), match=message):
        load_config(str(path))


def test_missing_config_file(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        load_config(str(tmp_path / "absent.toml"))


def test_input_errors_name_the_column():
    import pandas as pd

    both = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": ["x", "y", "z"]})
    with pytest.raises(UsageError, match="both --categorical and --numeric"):
        check_drift(table_from(both), table_from(both), DriftOptions(categorical=["a"], numeric=["a"]))
    with pytest.raises(UsageError, match="`--exclude`: no column 'c'"):
        check_drift(table_from(both), table_from(both), DriftOptions(exclude=["c"]))
    with pytest.raises(UsageError, match="no columns left"):
        check_drift(table_from(both), table_from(both), DriftOptions(exclude=["a", "b"]))


def test_non_numeric_value_in_a_numeric_column_names_the_row():
    import pandas as pd

    reference = pd.DataFrame({"a": ["1.5", "2", "", "oops", "4"], "b": [1.0, 2.0, 3.0, 4.0, 5.0]})
    clean = pd.DataFrame({"a": ["1.5", "2", "", "3", "4"], "b": [1.0, 2.0, 3.0, 4.0, 5.0]})
    for fmt in ("parquet", "csv"):
        for ref, cur, where in ((reference, clean, "in the reference"), (clean, reference, "in the current table")):
            report = check_drift(table_from(ref, fmt), table_from(cur, fmt), DriftOptions(numeric=["a"]))
            a, b = report.columns
            assert (a.status, a.severity, a.value) == ("unreadable", "warn", None), where
            assert re.search(r"column 'a', row 4: 'oops' is not a number", a.reason), where
            assert b.status == "compared" and b.value == 0.0  # the other columns go on


def test_word_deep_in_a_numeric_csv_column_names_the_row(tmp_path, monkeypatch):
    """Types come from the first block; a word in a later block is an error naming its row."""
    import klcli.tables

    monkeypatch.setattr(klcli.tables, "_TEXT_BLOCK", 1 << 16)
    rows = [f"{i}.5" for i in range(30_000)] + ["n/a!"]
    path = tmp_path / "late.csv"
    path.write_text("x\n" + "\n".join(rows) + "\n")
    with pytest.raises(InputError, match=r"late.csv: column 'x', row 30001: 'n/a!' is not a number .*--categorical x"):
        check_drift(open_table(str(path)), open_table(str(path)))


def test_parquet_drift_imports_no_pandas(tmp_path):
    import pandas as pd

    path = tmp_path / "t.parquet"
    pd.DataFrame({"x": np.arange(100.0), "c": ["a", "b"] * 50}).to_parquet(path)
    code = (
        "import sys; from klcli.drift import check_drift; from klcli.tables import open_table; "
        f"check_drift(open_table({str(path)!r}), open_table({str(path)!r})); print('pandas' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_parquet_reference_sampled_from_row_groups(tmp_path, monkeypatch):
    """With Parquet statistics the first pass reads a few row groups; counts stay exact."""
    import pandas as pd

    import klcli.drift.engines.local as local

    monkeypatch.setattr(local, "SAMPLE_ROWS", 500)
    rng = np.random.default_rng(11)
    values = rng.normal(size=50_000)
    values[rng.random(values.size) < 0.01] = np.nan
    path = tmp_path / "ref.parquet"
    pd.DataFrame({"x": values, "y": rng.exponential(size=values.size)}).to_parquet(path, row_group_size=1_000)
    reference = open_table(str(path))
    plans = plan_columns(reference, reference, DriftOptions())
    stats, _, sample = local._profile_from_footer(reference, plans)
    assert stats["x"].minimum == np.nanmin(values) and stats["x"].maximum == np.nanmax(values)
    assert stats["x"].count + stats["x"].missing == values.size and 0 < sample.values("x").size <= 3_000
    report = check_drift(reference, table_from(pd.DataFrame({"x": rng.normal(size=5000), "y": rng.exponential(size=5000)})))
    assert not report.drifted
    shifted = check_drift(reference, table_from(pd.DataFrame({"x": rng.normal(1, 1, 5000), "y": rng.exponential(size=5000)})))
    assert [c.drifted for c in shifted.columns] == [True, False]
    assert shifted.columns[0].reference_rows == values.size


def test_footer_shortcut_needs_many_row_groups_and_numeric_columns(tmp_path):
    import pandas as pd

    import klcli.drift.engines.local as local

    path = tmp_path / "small.parquet"
    pd.DataFrame({"x": np.arange(100.0), "c": ["a", "b"] * 50}).to_parquet(path, row_group_size=10)
    reference = open_table(str(path))
    assert local._profile_from_footer(reference, plan_columns(reference, reference, DriftOptions())) is None
    only_x = plan_columns(reference, reference, DriftOptions(columns=["x"]))
    assert local._profile_from_footer(reference, only_x) is None  # 10 row groups hold fewer rows than the sample
