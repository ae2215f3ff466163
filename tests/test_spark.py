"""The Spark engine on a real local[2] session: its counts equal the local engine's on the same profile.

CI (``.ci/run``) installs ``klcli[spark]`` and sets ``KLCLI_REQUIRE_SPARK=1``, so
there these tests fail instead of skipping when PySpark or Java is missing.
"""

from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest

from tests.conftest import run_cli
from tests.test_profile import frame

pytestmark = [pytest.mark.spark, pytest.mark.slow]


@pytest.fixture(scope="session")
def spark():
    """One local[2] session for every Spark test; the engine finds it as the active session."""
    required = os.environ.get("KLCLI_REQUIRE_SPARK") == "1"
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        if required:
            raise
        pytest.skip("needs the spark extra: pip install 'klcli[spark]'")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        if required:
            pytest.fail("Spark tests need Java (java on PATH or JAVA_HOME)")
        pytest.skip("needs Java for Spark")
    session = (
        SparkSession.builder.master("local[2]")
        .appName("klcli-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("spark")
    ref, cur = frame(6000, 11), frame(4000, 12, shift=0.5, mix=(0.3, 0.3, 0.4))
    ref.to_parquet(folder / "ref.parquet", index=False)
    cur.to_parquet(folder / "cur.parquet", index=False)
    (folder / "parts").mkdir()
    for i in range(3):
        cur.iloc[i * 1500 : (i + 1) * 1500].to_parquet(folder / "parts" / f"part-{i}.parquet", index=False)
    ref.drop(columns=["normal"]).to_csv(folder / "ref.csv", index=False)
    return folder


def ok(*args):
    result = run_cli(*map(str, args))
    assert result.exit_code in (0, 1), result.stderr
    return result


def columns(path):
    return json.loads(path.read_text())["columns"]


def test_spark_counts_equal_local_counts_on_the_same_profile(spark, data, tmp_path):
    """NaN, +-inf, nulls, booleans, float and integer categories, wide integers: every count equal."""
    ok("profile", data / "ref.parquet", "-o", tmp_path / "ref.json")
    ok("profile", data / "cur.parquet", "--edges-from", tmp_path / "ref.json", "-o", tmp_path / "local.json")
    ok("profile", data / "parts" / "part-*.parquet", "--edges-from", tmp_path / "ref.json", "--engine", "spark", "-o", tmp_path / "spark.json")
    assert columns(tmp_path / "spark.json") == columns(tmp_path / "local.json")
    record = json.loads((tmp_path / "spark.json").read_text())
    assert record["engine"] == "spark" and record["rows"] == 4000 and record["options"]["edges_from"] == str(tmp_path / "ref.json")
    # The reference itself, counted by Spark on its local edges, too.
    ok("profile", data / "ref.parquet", "--edges-from", tmp_path / "ref.json", "--engine", "spark", "-o", tmp_path / "ref-spark.json")
    assert columns(tmp_path / "ref-spark.json") == columns(tmp_path / "ref.json")
    # Profiles of either engine merge.
    ok("profile", "merge", tmp_path / "spark.json", tmp_path / "local.json", "-o", tmp_path / "both.json")
    assert json.loads((tmp_path / "both.json").read_text())["engine"] == "local+spark"
    # So drift from Spark's profile is drift from the tables.
    expected = ok("drift", data / "ref.parquet", data / "cur.parquet", "--format", "json").stdout
    assert ok("drift", tmp_path / "ref.json", tmp_path / "spark.json", "--format", "json").stdout == expected


def test_spark_drift_from_tables(spark, data, tmp_path):
    """Spark fits its own edges (approxQuantile): same kinds and verdicts, values close to the local engine's."""
    local = json.loads(ok("drift", data / "ref.parquet", data / "cur.parquet", "--format", "json").stdout)
    remote = json.loads(ok("drift", data / "ref.parquet", data / "parts", "--engine", "spark", "--format", "json").stdout)
    assert [(c["column"], c["kind"], c["bins"], c["drifted"]) for c in remote["columns"]] == [
        (c["column"], c["kind"], c["bins"], c["drifted"]) for c in local["columns"]
    ]
    for a, b in zip(remote["columns"], local["columns"]):
        assert abs(a["value"] - b["value"]) < 0.01, a["column"]
        if a["kind"] == "categorical":
            assert a["value"] == b["value"]  # categories are counted, not fitted
    assert remote["drifted"] and local["drifted"]


def test_spark_reference_profile(spark, data, tmp_path):
    """Spark's edges: the exact minimum and maximum, deciles within approxQuantile's rank error."""
    ok("profile", data / "ref.parquet", "--engine", "spark", "-o", tmp_path / "ref.json")
    ok("profile", data / "ref.parquet", "-o", tmp_path / "local.json")
    remote, local = {c["name"]: c for c in columns(tmp_path / "ref.json")}, {c["name"]: c for c in columns(tmp_path / "local.json")}
    assert {n: (c["kind"], c["decided_by"]) for n, c in remote.items()} == {n: (c["kind"], c["decided_by"]) for n, c in local.items()}
    values = np.sort(frame(6000, 11)["skewed"].to_numpy())
    edges = np.array(remote["skewed"]["edges"], dtype=float)
    assert edges[0] == values[0] and edges[-1] == np.nextafter(values[-1], np.inf)
    ranks = np.searchsorted(values, edges[1:-1]) / len(values)
    assert np.max(np.abs(ranks - np.arange(1, 10) / 10)) <= 2e-3
    assert remote["skewed"]["coarse_edges"] == remote["skewed"]["edges"][::2]
    for name in ("children", "colour", "member"):
        assert remote[name]["categories"] == local[name]["categories"]


def test_spark_catalog_table_and_csv(spark, data, tmp_path):
    spark.read.parquet(str(data / "cur.parquet")).createOrReplaceTempView("klcli_events")
    ok("profile", data / "ref.parquet", "-o", tmp_path / "ref.json")
    ok("profile", "--spark-table", "klcli_events", "--engine", "spark", "--edges-from", tmp_path / "ref.json", "-o", tmp_path / "events.json")
    ok("profile", data / "cur.parquet", "--edges-from", tmp_path / "ref.json", "-o", tmp_path / "local.json")
    assert columns(tmp_path / "events.json") == columns(tmp_path / "local.json")
    assert json.loads((tmp_path / "events.json").read_text())["sources"] == ["table:klcli_events"]
    expected = ok("drift", data / "ref.parquet", data / "cur.parquet", "--format", "json").stdout
    assert ok("drift", tmp_path / "ref.json", "table:klcli_events", "--engine", "spark", "--format", "json").stdout == expected
    # CSV: Spark infers the types; integer and text categories come out as the local engine's.
    ok("profile", data / "ref.csv", "--columns", "children,colour", "--engine", "spark", "-o", tmp_path / "csv-spark.json")
    ok("profile", data / "ref.csv", "--columns", "children,colour", "-o", tmp_path / "csv-local.json")
    assert columns(tmp_path / "csv-spark.json") == columns(tmp_path / "csv-local.json")


@pytest.mark.parametrize(
    "args,message",
    [
        (["drift", "{data}/nothing.parquet", "{data}/cur.parquet", "--engine", "spark"], "nothing.parquet: no such file or directory"),
        (["drift", "{data}/ref.parquet", "{data}/nope-*.parquet", "--engine", "spark"], "nope-*.parquet: no such file or directory"),
        (
            ["profile", "--spark-table", "klcli_no_such_table", "--engine", "spark", "-o", "{tmp}/out.json"],
            "table:klcli_no_such_table: no such table in Spark's catalog",
        ),
        (["profile", "-", "--engine", "spark", "-o", "{tmp}/out.json"], "--engine spark reads paths and --spark-table, not standard input"),
        (
            ["profile", "{data}/ref.parquet", "--engine", "spark", "--bins", "fd", "-o", "{tmp}/out.json"],
            "--engine spark fits auto, N, quantile:N and sturges bins, not fd",
        ),
    ],
)
def test_spark_errors(spark, data, tmp_path, args, message):
    result = run_cli(*[a.format(data=data, tmp=tmp_path) for a in args])
    assert result.exit_code == 2 and result.stderr.startswith("klcli: error: ") and result.stderr.count("\n") == 1, result.stderr
    assert message in result.stderr
    assert not (tmp_path / "out.json").exists()


def test_spark_column_statuses(spark, tmp_path):
    """Constant, all-missing, identifier, unsupported, removed and added columns: Spark reports what the local engine does."""
    import numpy as np
    import pandas as pd

    def table(n, seed, shift):
        rng = np.random.default_rng(seed)
        return pd.DataFrame(
            {
                "x": rng.normal(shift, 1.0, n),
                "constant": np.full(n, 7.0),
                "empty": np.full(n, np.nan),
                "ident": rng.permutation(10**6)[:n] + 2**60,
                "grade": rng.choice(["a", "b", "c"], n),
                "tags": [[1, 2]] * n,
            }
        )

    table(3000, 1, 0.0).to_parquet(tmp_path / "ref.parquet", index=False)
    table(2000, 2, 0.5).drop(columns=["constant"]).assign(extra=1.0).to_parquet(tmp_path / "cur.parquet", index=False)
    local = json.loads(ok("drift", tmp_path / "ref.parquet", tmp_path / "cur.parquet", "--format", "json").stdout)["columns"]
    remote = json.loads(ok("drift", tmp_path / "ref.parquet", tmp_path / "cur.parquet", "--engine", "spark", "--format", "json").stdout)["columns"]
    assert [(c["column"], c["kind"], c["status"], c["reason"]) for c in remote] == [(c["column"], c["kind"], c["status"], c["reason"]) for c in local]
    assert {c["column"]: c["status"] for c in local} == {
        "x": "compared",
        "constant": "removed",
        "empty": "all_missing",
        "ident": "identifier",
        "grade": "compared",
        "tags": "unsupported",
        "extra": "added",
    }
    # Profiles of both engines store the same columns (statuses, all_distinct, the edge-less all-missing column).
    ok("profile", tmp_path / "ref.parquet", "-o", tmp_path / "local.json")
    ok("profile", tmp_path / "ref.parquet", "--edges-from", tmp_path / "local.json", "--engine", "spark", "-o", tmp_path / "spark.json")
    local_columns = [dict(c, all_distinct=False) if "all_distinct" in c else c for c in columns(tmp_path / "local.json")]
    assert columns(tmp_path / "spark.json") == local_columns  # counted with --edges-from: all_distinct false
