"""Reading sample files, routing and the errors of --from samples."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
from scipy.spatial.distance import jensenshannon
from scipy.special import rel_entr

from klcli.errors import InputError, UsageError
from klcli.samples import MAX_DISCRETE_VALUES, SampleSet, compare_samples, read_samples


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


# --------------------------------------------------------------------------- reading


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("a.csv", "x,y\n1,2\n3.5,4\n"),
        ("a.csv", "1,2\n3.5,4\n"),
        ("a.tsv", "x\ty\n1\t2\n3.5\t4\n"),
        ("a.txt", "1 2\n3.5   4\n"),
        ("a.txt", "1,2\n3.5,4\n\n\n"),
    ],
)
def test_reads_text_formats_with_and_without_header(tmp_path, name, text):
    s = read_samples(write(tmp_path, name, text))
    assert s.values.dtype == np.float64
    assert s.values.tolist() == [[1.0, 2.0], [3.5, 4.0]]
    assert not s.is_labels and s.n == 2 and s.dim == 2


def test_columns_by_name_and_index(tmp_path):
    path = write(tmp_path, "a.csv", "x,y,z\n1,2,3\n4,5,6\n")
    assert read_samples(path, columns=["z", "x"]).values.tolist() == [[3, 1], [6, 4]]
    assert read_samples(path, columns=["1"]).values.tolist() == [[2], [5]]
    headerless = write(tmp_path, "b.csv", "1,2,3\n4,5,6\n")
    assert read_samples(headerless, columns=[2, 0]).values.tolist() == [[3, 1], [6, 4]]


def test_npy_and_parquet(tmp_path):
    import pandas as pd

    np.save(tmp_path / "a.npy", np.arange(6, dtype=np.float32).reshape(3, 2))
    np.save(tmp_path / "b.npy", np.arange(3))
    np.save(tmp_path / "c.npy", np.array(["x", "y"]))
    pd.DataFrame({"u": [1.0, 2.0], "v": [3, 4], "w": ["a", "b"], "s": ["5", "6.5"]}).to_parquet(tmp_path / "d.parquet")
    assert read_samples(tmp_path / "a.npy").values.tolist() == [[0, 1], [2, 3], [4, 5]]
    assert read_samples(tmp_path / "a.npy", columns=["1"]).values.tolist() == [[1], [3], [5]]
    assert read_samples(tmp_path / "b.npy").values.shape == (3, 1)
    assert read_samples(tmp_path / "c.npy").values.tolist() == ["x", "y"]
    assert read_samples(tmp_path / "d.parquet", columns=["u", "v"]).values.tolist() == [[1, 3], [2, 4]]
    assert read_samples(tmp_path / "d.parquet", columns=["w"]).is_labels
    assert read_samples(tmp_path / "d.parquet", columns=["s"]).values.tolist() == [[5], [6.5]]  # numbers as text


def test_text_labels_with_and_without_header(tmp_path):
    assert read_samples(write(tmp_path, "a.csv", "colour\nred\nblue\nred\n")).values.tolist() == ["red", "blue", "red"]
    assert read_samples(write(tmp_path, "b.csv", "red\nblue\nred\n")).values.tolist() == ["red", "blue", "red"]


READ_ERRORS = [
    ("a.csv", "x,y\n1,2\n3,foo\n4,5\n6,7\n", None, r"a\.csv, line 3, column 'y': 'foo' is not a number"),
    ("a.csv", "x,y\n1,2\n,4\n", None, r"a\.csv, line 3, column 'x': missing value"),
    ("a.csv", "x,y\n1,2\nnan,4\n", None, r"a\.csv, line 3, column 'x': missing value"),
    ("a.csv", "1,2\n3,4\n\n5,6\n", None, r"a\.csv, line 3, column 0: missing value"),
    ("a.csv", "x\n1\ninf\n", None, r"a\.csv, line 3, column 'x': infinite value"),
    ("a.csv", "", None, r"a\.csv: the file is empty"),
    ("a.csv", "x,y\n", None, r"a\.csv: no samples"),
    ("a.csv", "x,y\n1,2\n", ["z"], r"a\.csv: no column 'z'; available: x, y"),
    ("a.csv", "1,2\n3,4\n", ["5"], r"a\.csv: no column '5'; available: 0\.\.1 \(no header\)"),
    ("a.csv", "x,y\na,1\nb,2\n", None, r"a\.csv: text labels can only be compared as a single column"),
    ("a.json", "[1, 2]", None, r"a\.json: cannot read samples from a '\.json' file"),
]


@pytest.mark.parametrize(("name", "text", "columns", "message"), READ_ERRORS)
def test_read_errors_name_the_file_and_line(tmp_path, name, text, columns, message):
    with pytest.raises(InputError, match=message):
        read_samples(write(tmp_path, name, text), columns=columns)


def test_array_read_errors(tmp_path):
    np.save(tmp_path / "nan.npy", np.array([[1.0, 2.0], [3.0, np.nan]]))
    np.save(tmp_path / "cube.npy", np.zeros((2, 2, 2)))
    np.save(tmp_path / "obj.npy", np.array([{}, 1], dtype=object), allow_pickle=True)
    np.save(tmp_path / "cplx.npy", np.array([1j, 2j]))
    (tmp_path / "bad.parquet").write_bytes(b"not parquet")
    cases = [
        ("nan.npy", r"nan\.npy, row 2, column 1: NaN"),
        ("cube.npy", r"cube\.npy: expected a 1-D or 2-D array of samples, found shape \(2, 2, 2\)"),
        ("obj.npy", r"obj\.npy: holds Python objects; .*pickles are never loaded"),
        ("cplx.npy", r"cplx\.npy: expected numbers or text, found dtype complex128"),
        ("bad.parquet", r"bad\.parquet: cannot be read \(.*\); expected a Parquet table"),
        ("missing.csv", r"missing\.csv: no such file"),
    ]
    for name, message in cases:
        with pytest.raises(InputError, match=message):
            read_samples(tmp_path / name)


# --------------------------------------------------------------------------- routing


def test_small_integer_samples_are_counted_exactly():
    rng = np.random.default_rng(0)
    p = SampleSet(rng.integers(0, 6, (500, 1)).astype(float), "p")
    q = SampleSet(rng.integers(0, 6, (800, 1)).astype(float), "q")
    c = compare_samples(p, q, bootstrap=5)
    pv = np.bincount(p.values[:, 0].astype(int), minlength=6) / 500
    qv = np.bincount(q.values[:, 0].astype(int), minlength=6) / 800
    assert set(c.method.values()) == {"exact"}
    assert c.stderr == {}
    assert any("no resampling for counted samples" in n for n in c.notes)
    assert c.values["kl_pq"] == pytest.approx(rel_entr(pv, qv).sum(), rel=1e-12)
    assert c.values["kl_qp"] == pytest.approx(rel_entr(qv, pv).sum(), rel=1e-12)
    assert c.values["js"] == pytest.approx(jensenshannon(pv, qv) ** 2, rel=1e-9)
    assert c.info["categories"] == 6


def test_routing_boundary():
    values = np.arange(MAX_DISCRETE_VALUES, dtype=float).reshape(-1, 1).repeat(3, axis=0)
    assert compare_samples(SampleSet(values, "p"), SampleSet(values, "q")).method["kl_pq"] == "exact"
    more = np.arange(MAX_DISCRETE_VALUES + 1, dtype=float).reshape(-1, 1).repeat(3, axis=0)
    assert compare_samples(SampleSet(more, "p"), SampleSet(more, "q"), bootstrap=0).method["kl_pq"] == "classifier"
    # repeated values: the weighted estimator needs distinct points, the adaptive kNN takes over
    kwargs = dict(estimator="knn-ensemble", bootstrap=0)
    assert compare_samples(SampleSet(more, "p"), SampleSet(more, "q"), **kwargs).method["kl_pq"] == "knn"
    two_d = np.random.default_rng(0).normal(size=(20, 2)).round()
    assert compare_samples(SampleSet(two_d, "p"), SampleSet(two_d + 1, "q"), **kwargs).method["kl_pq"] == "knn"


def test_labels_are_aligned_and_missing_labels_give_infinity():
    p = SampleSet(np.array(["a", "b", "c", "c"], dtype=object), "p.csv")
    q = SampleSet(np.array(["b", "a", "a", "a"], dtype=object), "q.csv")
    c = compare_samples(p, q)
    assert c.values["kl_pq"] == math.inf
    assert c.values["kl_qp"] == pytest.approx(0.75 * math.log(3) + 0.25 * math.log(1))
    assert 0 < c.values["js"] < math.log(2)
    assert any("kl_pq is infinite: p.csv has values the other set never shows (c)" in n for n in c.notes)


def test_read_then_compare_end_to_end(tmp_path):
    rng = np.random.default_rng(2)
    np.savetxt(tmp_path / "p.csv", rng.normal(0, 1, (3000, 2)), delimiter=",", header="a,b", comments="")
    np.savetxt(tmp_path / "q.tsv", rng.normal(0.5, 1, (3000, 2)), delimiter="\t")
    c = compare_samples(read_samples(tmp_path / "p.csv"), read_samples(tmp_path / "q.tsv"), bootstrap=4, seed=3)
    assert c.values["kl_pq"] == pytest.approx(0.25, abs=0.05)
    assert c.method == {key: "classifier" for key in c.values}
    check = c.info.pop("check")
    assert c.info == {
        "estimator": "classifier",
        "n_p": 3000,
        "n_q": 3000,
        "dim": 2,
        "bootstrap": 4,
        "seed": 3,
        "standardize": True,
        "ties": 0,
    }
    assert check["estimator"] == "knn-ensemble" and check["kl_pq"] == pytest.approx(0.25, abs=0.05)
    again = compare_samples(read_samples(tmp_path / "p.csv"), read_samples(tmp_path / "q.tsv"), bootstrap=4, seed=3)
    assert again.values == c.values and again.stderr == c.stderr  # reproducible for a seed


def test_without_bootstrap_standard_errors_come_from_the_terms():
    rng = np.random.default_rng(4)
    c = compare_samples(SampleSet(rng.normal(size=(200, 1)), "p"), SampleSet(rng.normal(size=(200, 1)), "q"), bootstrap=0)
    assert set(c.stderr) >= {"kl_pq", "kl_qp", "js"} and c.info["bootstrap"] == 0
    assert any("standard errors from the spread of the per-point terms" in n for n in c.notes)
    assert not any("bootstrap count" in n for n in c.notes)


def test_negative_estimates_are_reported_as_clipped():
    rng = np.random.default_rng(11)
    clipped = 0
    for _ in range(5):
        c = compare_samples(SampleSet(rng.normal(size=(100, 1)), "p"), SampleSet(rng.normal(size=(100, 1)), "q"), bootstrap=0)
        assert c.values["kl_pq"] >= 0 and c.values["kl_qp"] >= 0
        for key, raw in c.info.get("clipped", {}).items():
            clipped += 1
            assert raw < 0 and c.values[key] == 0
            assert any(n.startswith(f"{key}: the raw estimate") and "reported clipped to 0" in n for n in c.notes)
            assert c.interval[key][0] == 0  # the interval is clipped to the valid range too
    assert clipped


# --------------------------------------------------------------------------- errors


def test_compare_errors():
    pts = SampleSet(np.random.default_rng(1).normal(size=(10, 2)), "p.csv")
    one_d = SampleSet(np.linspace(0, 1, 10).reshape(-1, 1) + 0.5, "q.csv")
    labels = SampleSet(np.array(["a", "b"], dtype=object), "l.csv")
    cases = [
        ((pts, one_d), {}, InputError, r"p\.csv has 2 column\(s\) but q\.csv has 1"),
        ((labels, one_d), {}, InputError, r"l\.csv holds text labels but q\.csv holds numbers"),
        ((pts, pts), {"k": 10, "estimator": "knn"}, InputError, r"p\.csv: 10 samples; the kNN estimator with `k`=10 needs at least 11"),
        ((pts, SampleSet(pts.values[:5], "s.csv")), {}, InputError, r"s\.csv: 5 samples; estimating a divergence needs at least 8"),
        ((pts, SampleSet(np.ones((10, 2)), "c.csv")), {}, InputError, r"c\.csv: all 10 samples are identical"),
        ((pts, pts), {"bootstrap": 4}, InputError, r"p\.csv: too few samples for `bootstrap` half-samples \(each half needs at least 8\)"),
        (
            (pts, SampleSet(np.c_[pts.values[:, 0], 2 * pts.values[:, 0]], "l.csv")),
            {"bootstrap": 0},
            InputError,
            r"l\.csv: its samples lie on a lower-dimensional subspace",
        ),
        ((pts, pts), {"estimator": "magic"}, UsageError, r"`--estimator` must be one of auto, knn, knn-ensemble, classifier"),
        (
            (SampleSet(np.c_[pts.values[:, 0], np.zeros(10)], "a.csv"), SampleSet(np.c_[pts.values[:, 1], np.zeros(10)], "b.csv")),
            {"bootstrap": 0},
            InputError,
            r"column 1 has the same value in every row of a\.csv and b\.csv",
        ),
        ((pts, pts), {"k": 0}, UsageError, r"`k` must be a positive integer, not 0"),
        ((pts, pts), {"k": 2.5}, UsageError, r"`k` must be a positive integer, not 2\.5"),
        ((pts, pts), {"bootstrap": 1}, UsageError, r"`bootstrap` must be 0 \(no standard errors\) or an integer >= 2"),
        ((pts, pts), {"bootstrap": -3}, UsageError, r"`bootstrap` must be 0"),
        ((pts, pts), {"seed": -1}, UsageError, r"`seed` must be a non-negative integer or None"),
    ]
    for args, kwargs, exc, message in cases:
        with pytest.raises(exc, match=message):
            compare_samples(*args, **kwargs)


# --------------------------------------------------------------------------- counted samples


def test_counted_samples_equal_compare_on_their_counts():
    from klcli.discrete import compare_probabilities

    p = SampleSet(np.array([[1.0], [2.0], [2.0], [3.0]]), "p")
    q = SampleSet(np.array([[1.0], [1.0], [2.0], [3.0], [3.0], [3.0]]), "q")
    counted = compare_samples(p, q)
    direct = compare_probabilities(np.array([1, 2, 1]) / 4, np.array([2, 1, 3]) / 6)
    for key in ("kl_pq", "kl_qp", "js", "entropy_p", "entropy_q"):
        assert counted.values[key] == pytest.approx(direct.values[key], rel=1e-15)
    assert counted.method["kl_pq"] == "exact"


def test_importing_the_module_stays_light():
    code = "import sys, klcli.samples; print(sorted(m for m in ('pandas', 'scipy') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
