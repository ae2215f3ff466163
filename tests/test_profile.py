"""Profiles: drift from a profile equals drift from the table bit for bit; merge adds counts; bad profiles exit 2."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from klcli.drift import check_drift, check_sides, merge_profiles, profile_tables
from klcli.drift.profile import PROFILE_VERSION, Profile, profile_schema, read_profile, schema_problem
from klcli.errors import InputError
from klcli.tables import open_table
from tests.conftest import ROOT, run_cli


def frame(n: int, seed: int, *, shift: float = 0.0, mix=(0.5, 0.3, 0.2)):
    """Every column kind and edge case: NaN, +-inf, nulls, booleans, float and integer categories, a wide integer."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    normal = rng.normal(shift, 1.0, n)
    normal[rng.random(n) < 0.05] = np.nan
    normal[:3] = [np.inf, -np.inf, np.nan]
    return pd.DataFrame(
        {
            "normal": normal,
            "skewed": rng.lognormal(shift, 1.5, n),
            "children": rng.integers(0, 6, n),
            "colour": rng.choice(["red", "green", "blue", None], n, p=[*(0.9 * np.array(mix)), 0.1]),
            "member": rng.random(n) < 0.3,
            "ratio": rng.choice([0.5, 1.0, 1e-5, 2.0], n),
            "ident": rng.integers(0, 10**6, n),
        }
    )


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """ref.parquet, cur.parquet, cur split into part-0..3.parquet, and CSV copies."""
    folder = tmp_path_factory.mktemp("profile")
    ref, cur = frame(6000, 1), frame(4000, 2, shift=0.4, mix=(0.3, 0.3, 0.4))
    ref.to_parquet(folder / "ref.parquet", index=False)
    cur.to_parquet(folder / "cur.parquet", index=False)
    for i in range(4):
        cur.iloc[i * 1000 : (i + 1) * 1000].to_parquet(folder / f"part-{i}.parquet", index=False)
    ref.to_csv(folder / "ref.csv", index=False)
    cur.to_csv(folder / "cur.csv", index=False)
    return folder


def drift_json(*args):
    result = run_cli("drift", *map(str, args), "--format", "json")
    assert result.exit_code in (0, 1), result.stderr
    return result.exit_code, result.stdout


def profile(*args):
    result = run_cli("profile", *map(str, args))
    assert result.exit_code == 0, result.stderr
    return result


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
@pytest.mark.parametrize(
    "options",
    [
        [],
        ["--bins", "quantile:20"],
        ["--bins", "7", "--exclude", "normal"],
        ["--bins", "fd", "--exclude", "normal"],
        ["--categorical", "ratio", "--numeric", "children"],
        ["--columns", "normal,colour"],
    ],
)
def test_drift_from_profiles_is_bit_identical(data, tmp_path, fmt, options):
    ref, cur = data / f"ref.{fmt}", data / f"cur.{fmt}"
    expected = drift_json(ref, cur, *options)
    assert json.loads(expected[1])["drifted"]  # a case where something is found
    profile(ref, *options, "-o", tmp_path / "ref.json")
    profile(cur, "--edges-from", tmp_path / "ref.json", "-o", tmp_path / "cur.json")
    # The report's text, so every float is compared to the last bit; the profile keeps the options that shaped it.
    assert drift_json(tmp_path / "ref.json", cur) == expected
    assert drift_json(tmp_path / "ref.json", cur, *options) == expected
    assert drift_json(tmp_path / "ref.json", tmp_path / "cur.json") == expected
    assert drift_json(ref, tmp_path / "cur.json", *options) == expected


def test_small_tables_keep_the_coarse_bins(data, tmp_path):
    """--bins auto: quintiles below H = 2,500 rows; the profile keeps both edge sets, so this is identical too."""
    import pandas as pd

    pd.read_parquet(data / "cur.parquet").iloc[:300].to_parquet(tmp_path / "small.parquet", index=False)
    profile(data / "ref.parquet", "-o", tmp_path / "ref.json")
    expected = drift_json(data / "ref.parquet", tmp_path / "small.parquet")
    assert json.loads(expected[1])["columns"][0]["bins"] == 5 + 3
    assert drift_json(tmp_path / "ref.json", tmp_path / "small.parquet") == expected


def test_parts_merged_equal_the_whole(data, tmp_path):
    profile(data / "ref.parquet", "-o", tmp_path / "ref.json")
    for i in range(4):
        profile(data / f"part-{i}.parquet", "--edges-from", tmp_path / "ref.json", "-o", tmp_path / f"part-{i}.json")
    profile("merge", *[tmp_path / f"part-{i}.json" for i in (2, 0, 3, 1)], "-o", tmp_path / "merged.json")
    profile(data / "cur.parquet", "--edges-from", tmp_path / "ref.json", "-o", tmp_path / "whole.json")
    merged, whole = json.loads((tmp_path / "merged.json").read_text()), json.loads((tmp_path / "whole.json").read_text())
    assert merged["columns"] == whole["columns"] and merged["rows"] == whole["rows"] == 4000
    assert merged["sources"] == [
        str(tmp_path / f"part-{i}.json").replace(".json", ".parquet").replace(str(tmp_path), str(data)) for i in (2, 0, 3, 1)
    ]
    assert drift_json(tmp_path / "ref.json", tmp_path / "merged.json") == drift_json(data / "ref.parquet", data / "cur.parquet")
    # Several tables given at once are read as one.
    profile(*[data / f"part-{i}.parquet" for i in range(4)], "--edges-from", tmp_path / "ref.json", "-o", tmp_path / "together.json")
    assert json.loads((tmp_path / "together.json").read_text())["columns"] == whole["columns"]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cuts=st.lists(st.integers(1, 499), max_size=4, unique=True), seed=st.integers(0, 2**16))
def test_counts_add_over_any_split(cuts, seed):
    """Counting the parts of a table on fixed bins and merging gives the counts of the table."""
    import io

    whole = frame(500, seed)
    bounds = [0, *sorted(cuts), 500]

    def table(part):
        buffer = io.BytesIO()
        part.to_parquet(buffer, index=False)
        buffer.seek(0)
        return open_table("-", stdin=buffer)

    reference = profile_tables(table(frame(800, seed + 1)), sources=["ref"])
    parts = [profile_tables(table(whole.iloc[a:b]), sources=["part"], edges_from=reference) for a, b in zip(bounds[:-1], bounds[1:])]
    merged = merge_profiles(parts).record()
    expected = profile_tables(table(whole), sources=["part"], edges_from=reference).record()
    assert merged["columns"] == expected["columns"] and merged["rows"] == 500


def test_library_api_matches_check_drift(data):
    ref, cur = open_table(str(data / "ref.parquet")), open_table(str(data / "cur.parquet"))
    stored = Profile.from_record(json.loads(json.dumps(profile_tables(ref, sources=["ref"]).record())), "ref.json")
    assert check_sides(stored, cur).record() == check_drift(ref, cur).record()


def test_profile_contents(data, tmp_path):
    profile(data / "ref.parquet", "-o", tmp_path / "ref.json")
    record = json.loads((tmp_path / "ref.json").read_text())
    assert list(record)[0] == "klcli_profile" and record["klcli_profile"] == PROFILE_VERSION
    assert schema_problem(record, profile_schema()) is None
    columns = {c["name"]: c for c in record["columns"]}
    assert {n: (c["kind"], c["decided_by"]) for n, c in columns.items()} == {
        "normal": ("numeric", "type"),
        "skewed": ("numeric", "type"),
        "children": ("categorical", "distinct_values"),
        "colour": ("categorical", "type"),
        "member": ("categorical", "type"),
        "ratio": ("numeric", "type"),
        "ident": ("numeric", "distinct_values"),
    }
    normal = columns["normal"]
    # Edges span the finite values; -inf and +inf fall in the outer bins.
    assert all(isinstance(e, float) for e in normal["edges"]) and len(normal["counts"]) == len(normal["edges"]) - 1
    assert normal["coarse_edges"] is not None and set(normal["coarse_edges"]) <= set(normal["edges"])
    assert normal["underflow"] == 1 and normal["overflow"] == 1 and normal["missing"] > 0  # -inf; +inf; NaN
    assert normal["temporal"] is None and normal["all_distinct"] is False
    assert columns["member"]["categories"].keys() == {"true", "false"}
    assert sum(columns["colour"]["categories"].values()) + columns["colour"]["missing"] == record["rows"] == 6000
    assert record["options"]["bins"] == "auto" and record["options"]["edges_from"] is None
    assert b"  " not in (tmp_path / "ref.json").read_bytes().split(b"\n", 1)[0]  # the marker is in the first bytes
    import os
    import stat

    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE((tmp_path / "ref.json").stat().st_mode) == 0o666 & ~umask


def test_profile_to_stdout(data):
    result = profile(data / "ref.csv", "--columns", "colour", "-o", "-")
    assert json.loads(result.stdout)["columns"][0]["categories"]["red"] > 0


def test_schema_is_package_data():
    files = subprocess.run(
        [sys.executable, "-c", "import importlib.resources as r; print(r.files('klcli.drift').joinpath('profile.schema.json').is_file())"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert files.stdout.strip() == "True"
    assert "profile.schema.json" in (ROOT / "pyproject.toml").read_text()


def test_pooled_categories(data, tmp_path):
    profile(data / "ref.parquet", "--categorical", "ident", "--max-stored-categories", "50", "-o", tmp_path / "ref.json")
    column = next(c for c in json.loads((tmp_path / "ref.json").read_text())["columns"] if c["name"] == "ident")
    assert len(column["categories"]) == 50 and column["other"]["categories"] > 5000
    result = run_cli("drift", tmp_path / "ref.json", data / "cur.parquet")
    assert result.exit_code == 2 and "'ident' keeps only its 50 most frequent categories" in result.stderr and "--exclude ident" in result.stderr
    assert run_cli("drift", tmp_path / "ref.json", data / "cur.parquet", "--exclude", "ident", "--format", "json").exit_code == 1


# ---------------------------------------------------------------------------
# Bad input: one line, exit 2, nothing written


def bad(args, message, tmp_path):
    target = tmp_path / "out.json"
    target.write_text("before")
    result = run_cli(*map(str, args), "-o", str(target)) if args[0] == "profile" else run_cli(*map(str, args))
    assert result.exit_code == 2, result.stdout
    assert result.stderr.startswith("klcli: error: ") and result.stderr.count("\n") == 1, result.stderr
    assert message in result.stderr, result.stderr
    assert target.read_text() == "before"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out.json")] == []


@pytest.fixture
def ref_json(data, tmp_path):
    path = tmp_path / "ref.json"
    profile(data / "ref.parquet", "-o", path)
    return path


def edit(path, change, target):
    record = json.loads(path.read_text())
    change(record)
    target.write_text(json.dumps(record))
    return target


def test_not_a_profile(data, ref_json, tmp_path):
    bad(["profile", "merge", ref_json, data / "ref.csv"], "ref.csv: not a klcli profile (invalid JSON", tmp_path)
    (tmp_path / "other.json").write_text('{"columns": []}')
    bad(["profile", "merge", ref_json, tmp_path / "other.json"], 'other.json: not a klcli profile (no "klcli_profile" key', tmp_path)
    bad(["profile", data / "cur.parquet", "--edges-from", tmp_path / "nothing.json"], "nothing.json: no such file", tmp_path)


def test_other_version(data, ref_json, tmp_path):
    newer = edit(ref_json, lambda r: r.update(klcli_profile=2), tmp_path / "v2.json")
    bad(["drift", newer, data / "cur.parquet"], "v2.json: a klcli profile of version 2; this klcli reads version 1", tmp_path)
    bad(["profile", "merge", ref_json, newer], "version 2", tmp_path)


def test_truncated(data, ref_json, tmp_path):
    cut = tmp_path / "cut.json"
    cut.write_bytes(ref_json.read_bytes()[:700])
    bad(["drift", cut, data / "cur.parquet"], "cut.json: a truncated or damaged klcli profile (invalid JSON", tmp_path)
    bad(["profile", data / "cur.parquet", "--edges-from", cut], "truncated", tmp_path)


@pytest.mark.parametrize(
    "change,message",
    [
        (lambda r: r["columns"][0]["counts"].__setitem__(0, -1), "columns[0].counts[0]: -1 is less than the minimum 0"),
        (
            lambda r: r["columns"][0].update(overflow=r["columns"][0]["overflow"] + 1),
            "column 'normal': its counts add up to 6,001, not to the 6,000 rows",
        ),
        (lambda r: r["columns"][0]["edges"].reverse(), "column 'normal': the edges do not increase"),
        (lambda r: r["columns"][0].pop("overflow"), "columns[0]: missing key 'overflow'"),
        (lambda r: r["columns"][0].update(kind="text"), 'columns[0]: `kind` must be one of "numeric", "categorical", "uncounted", found "text"'),
        (lambda r: r["columns"][2]["categories"].update(blue="many"), "columns[2].categories.blue: expected integer"),
        (lambda r: r.update(extra=1), "the top level: unknown key 'extra'"),
        (lambda r: r["columns"].append(r["columns"][0]), "column 'normal' appears twice"),
    ],
)
def test_invalid_profiles(data, ref_json, tmp_path, change, message):
    broken = edit(ref_json, change, tmp_path / "broken.json")
    bad(["drift", broken, data / "cur.parquet"], f"broken.json: not a valid klcli profile: {message}", tmp_path)


def test_other_columns(data, ref_json, tmp_path):
    import pandas as pd

    pd.read_parquet(data / "cur.parquet").drop(columns=["colour"]).to_parquet(tmp_path / "fewer.parquet", index=False)
    # A column only in the reference is reported as removed, and the other columns are compared as from the tables.
    expected = json.loads(drift_json(data / "ref.parquet", tmp_path / "fewer.parquet")[1])
    found = json.loads(drift_json(ref_json, tmp_path / "fewer.parquet")[1])
    colour = next(c for c in found["columns"] if c["column"] == "colour")
    assert colour["status"] == "removed" and colour["reason"] == f"only in {ref_json}"
    assert [c for c in found["columns"] if c["column"] != "colour"] == [c for c in expected["columns"] if c["column"] != "colour"]
    bad(["profile", tmp_path / "fewer.parquet", "--edges-from", ref_json], "fewer.parquet: no column 'colour'", tmp_path)
    profile(data / "ref.parquet", "--exclude", "colour", "-o", tmp_path / "fewer.json")
    bad(["profile", "merge", ref_json, tmp_path / "fewer.json"], "cannot merge", tmp_path)
    bad(["profile", "merge", ref_json, tmp_path / "fewer.json"], "fewer.json lacks 'colour')", tmp_path)
    found = json.loads(drift_json(ref_json, tmp_path / "fewer.json")[1])
    assert [c["status"] for c in found["columns"] if c["column"] == "colour"] == ["removed"]


def test_different_edges(data, ref_json, tmp_path):
    profile(data / "cur.parquet", "-o", tmp_path / "own.json")  # its own edges, not the reference's
    bad(["profile", "merge", ref_json, tmp_path / "own.json"], "column 'normal' has other edges (edge 0 is -3.54", tmp_path)
    bad(["drift", ref_json, tmp_path / "own.json"], "cannot compare", tmp_path)
    bad(["drift", data / "ref.parquet", tmp_path / "own.json"], "profile both with --edges-from the same profile", tmp_path)
    profile(data / "ref.parquet", "--bins", "quantile:5", "-o", tmp_path / "width.json")
    bad(["profile", "merge", ref_json, tmp_path / "width.json"], "other edges (11 edges in", tmp_path)


def test_options_that_contradict_a_reference_profile(data, ref_json, tmp_path):
    bad(["drift", ref_json, data / "cur.parquet", "--bins", "12"], "was binned with --bins auto, not 12", tmp_path)
    bad(
        ["drift", ref_json, data / "cur.parquet", "--categorical", "normal"],
        "column 'normal' was profiled as numeric, so it cannot be checked as categorical",
        tmp_path,
    )
    bad(["profile", data / "cur.parquet", "--edges-from", ref_json, "--bins", "5"], "--bins cannot be given with it", tmp_path)
    bad(["profile", "merge", ref_json, "--columns", "a"], "`profile merge` takes profiles and -o only", tmp_path)
    bad(["profile", data / "cur.parquet", "--engine", "dask"], "`--engine` must be one of local, spark", tmp_path)
    bad(["profile", data / "cur.parquet", "--spark-table", "t"], "`--spark-table` needs --engine spark", tmp_path)


def test_unwritable_output(data, tmp_path):
    result = run_cli("profile", data / "ref.csv", "-o", tmp_path / "no" / "such" / "dir.json")
    assert result.exit_code == 2 and "cannot write" in result.stderr


def test_read_profile_errors(tmp_path):
    (tmp_path / "empty.json").write_text("")
    with pytest.raises(InputError, match="empty file"):
        read_profile(str(tmp_path / "empty.json"))
    (tmp_path / "nan.json").write_text('{"klcli_profile": NaN}')
    with pytest.raises(InputError, match="invalid JSON"):
        read_profile(str(tmp_path / "nan.json"))


def test_schema_validator_refuses_unknown_keywords():
    with pytest.raises(ValueError, match="pattern"):
        schema_problem("x", {"type": "string", "pattern": "^a"})
    assert schema_problem(True, {"type": "integer"}) == "the top level: expected integer, found true"
    assert schema_problem(1, {"enum": [True]}) is not None


def test_engine_spark_without_pyspark_names_the_extra(data):
    code = (
        "import sys; sys.modules['pyspark'] = None; sys.modules['pyspark.sql'] = None\n"
        f"from klcli.cli import main; main(['drift', {str(data / 'ref.parquet')!r}, {str(data / 'cur.parquet')!r}, '--engine', 'spark'])"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 2 and done.stderr == "klcli: error: --engine spark needs PySpark: pip install 'klcli[spark]'\n"


def test_engine_spark_without_java(data):
    pytest.importorskip("pyspark")
    env = {"PATH": "/nonexistent", "HOME": "/tmp", "PYTHONPATH": str(ROOT / "src")}
    done = subprocess.run(
        [sys.executable, "-m", "klcli", "profile", str(data / "ref.parquet"), "--engine", "spark", "-o", "/tmp/klcli-never.json"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert done.returncode == 2 and done.stderr.startswith("klcli: error: --engine spark needs Java 17") and done.stderr.count("\n") == 1


@pytest.fixture(scope="module")
def statuses(tmp_path_factory):
    """Tables with a column of every status issue 15 reports (constant, all missing, identifier, dates, timestamps, unsupported, removed, added)."""
    import pandas as pd

    folder = tmp_path_factory.mktemp("statuses")

    def table(n, seed, shift):
        rng = np.random.default_rng(seed)
        return pd.DataFrame(
            {
                "x": rng.normal(shift, 1.0, n),
                "constant": np.full(n, 7.0),
                "empty": np.full(n, np.nan),
                "ident": rng.permutation(10**6)[:n] + 2**60,  # every value distinct, beyond 2**53
                "day": pd.to_datetime("2024-01-01") + pd.to_timedelta(rng.integers(0, 60 + int(30 * shift), n), unit="D"),
                "stamp": pd.to_datetime("2024-01-01") + pd.to_timedelta(rng.integers(0, 10**6, n), unit="s"),
                "grade": rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2] if shift == 0 else [0.3, 0.3, 0.4]),
                "tags": [[1, 2]] * n,
            }
        )

    ref, cur = table(3000, 1, 0.0), table(2000, 2, 0.5)
    ref.drop(columns=["tags"]).assign(day=ref["day"].dt.date).to_csv(folder / "ref.csv", index=False)
    cur.drop(columns=["tags"]).assign(day=cur["day"].dt.date).to_csv(folder / "cur.csv", index=False)
    ref.to_parquet(folder / "ref.parquet", index=False)
    cur.drop(columns=["constant"]).assign(extra=1.0).to_parquet(folder / "cur.parquet", index=False)
    return folder


@pytest.mark.parametrize("options", [[], ["--include", "ident"], ["--bins", "12", "--metric", "psi"], ["--no-significance", "--metric", "hellinger"]])
def test_statuses_and_decisions_from_profiles_are_bit_identical(statuses, tmp_path, options):
    """p_value, noise_floor, severity, status and reason, dates shown as dates: the same from a profile as from the tables."""
    ref, cur = statuses / "ref.csv", statuses / "cur.csv"
    code, expected = drift_json(ref, cur, *options)
    record = json.loads(expected)
    found = {c["column"]: c for c in record["columns"]}
    assert {n: c["status"] for n, c in found.items()} == {
        "x": "compared",
        "constant": "constant",
        "empty": "all_missing",
        "ident": "compared" if "--include" in options else "identifier",
        "day": "compared",
        "stamp": "compared",
        "grade": "compared",
    }
    assert all({"p_value", "noise_floor", "severity", "status", "reason"} <= set(c) for c in record["columns"])
    assert found["day"]["top_contributors"][0]["bin"].startswith(("[2024-", "> 2024-"))
    profile(ref, *[o for o in options if o in ("--bins", "12")], "-o", tmp_path / "ref.json")
    profile(cur, "--edges-from", tmp_path / "ref.json", "-o", tmp_path / "cur.json")
    stored = {c["name"]: c for c in json.loads((tmp_path / "ref.json").read_text())["columns"]}
    assert stored["day"]["temporal"] == "date32[day]" and stored["stamp"]["temporal"].startswith("timestamp[")
    assert stored["ident"]["all_distinct"] is True and stored["x"]["all_distinct"] is False
    assert (code, expected) == drift_json(tmp_path / "ref.json", cur, *options)
    assert (code, expected) == drift_json(tmp_path / "ref.json", tmp_path / "cur.json", *options)
    assert (code, expected) == drift_json(ref, tmp_path / "cur.json", *options)


def test_uncounted_columns_in_profiles(statuses, tmp_path):
    """Unsupported, removed and added columns are reported from profiles as from the tables; the profile stores the status."""
    ref, cur = statuses / "ref.parquet", statuses / "cur.parquet"
    profile(ref, "-o", tmp_path / "ref.json")
    record = json.loads((tmp_path / "ref.json").read_text())
    assert schema_problem(record, profile_schema()) is None
    tags = next(c for c in record["columns"] if c["name"] == "tags")
    assert tags == {"name": "tags", "kind": "uncounted", "planned_kind": "unsupported", "status": "unsupported", "reason": tags["reason"]}
    expected = json.loads(drift_json(ref, cur)[1])["columns"]
    found = json.loads(drift_json(tmp_path / "ref.json", cur)[1])["columns"]
    assert [(c["column"], c["status"]) for c in found] == [(c["column"], c["status"]) for c in expected]
    assert {c["column"]: c["status"] for c in found}.items() >= {"tags": "unsupported", "constant": "removed", "extra": "added"}.items()
    # The compared columns and their numbers are the tables' (the reasons of uncounted columns name the file given).
    same = ("value", "p_value", "noise_floor", "severity", "drifted", "top_contributors")
    assert [[c[k] for k in same] for c in found if c["status"] == "compared"] == [[c[k] for k in same] for c in expected if c["status"] == "compared"]
    # Profiles with uncounted columns merge, and the status stays.
    profile(ref, "--edges-from", tmp_path / "ref.json", "-o", tmp_path / "part.json")
    profile("merge", tmp_path / "part.json", tmp_path / "part.json", "-o", tmp_path / "both.json")
    merged = {c["name"]: c for c in json.loads((tmp_path / "both.json").read_text())["columns"]}
    assert merged["tags"] == tags and merged["empty"]["overflow"] == 0 and merged["empty"]["missing"] == 6000


def test_sample_metrics_fall_back_from_profiles(statuses, tmp_path):
    """wasserstein and ks need the rows, which a profile does not keep: from a profile they fall back to js_distance."""
    ref, cur = statuses / "ref.csv", statuses / "cur.csv"
    profile(ref, "-o", tmp_path / "ref.json")
    from_tables = {c["column"]: c for c in json.loads(drift_json(ref, cur, "--metric", "wasserstein")[1])["columns"]}
    from_profile = {c["column"]: c for c in json.loads(drift_json(tmp_path / "ref.json", cur, "--metric", "wasserstein")[1])["columns"]}
    assert from_tables["x"]["metric"] == "wasserstein" and from_profile["x"]["metric"] == "js_distance"
    assert from_profile["x"] == {c["column"]: c for c in json.loads(drift_json(ref, cur)[1])["columns"]}["x"]
    assert from_profile["grade"] == from_tables["grade"]  # categorical: js_distance either way


@pytest.mark.parametrize("bins", ["4", "sturges", "fd", "doane", "quantile:4"])
def test_infinite_reference_values_with_width_bins(tmp_path, bins):
    """±inf in the reference fall in the outer bins; the edges span the finite values (never NaN), from tables and profiles alike."""
    (tmp_path / "ref.csv").write_text("x\n" + "1\n2\n3\ninf\n-inf\n4\n5\n" * 30)
    (tmp_path / "cur.csv").write_text("x\n" + "1\n2\n3\n4\n5\n6\n" * 30)
    profile(tmp_path / "ref.csv", "--bins", bins, "-o", tmp_path / "ref.json")
    column = json.loads((tmp_path / "ref.json").read_text())["columns"][0]
    assert column["edges"][0] == 1.0 and column["edges"][-1] == np.nextafter(5.0, np.inf)
    assert (column["underflow"], column["overflow"], sum(column["counts"])) == (30, 30, 150)
    expected = drift_json(tmp_path / "ref.csv", tmp_path / "cur.csv", "--bins", bins)
    value = json.loads(expected[1])["columns"][0]["value"]
    assert np.isfinite(value) and value > 0.1  # the current's 6s are above the reference range; its ±inf went missing
    assert drift_json(tmp_path / "ref.json", tmp_path / "cur.csv") == expected
