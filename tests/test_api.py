"""The Python API: same numbers, JSON and messages as the command, for every kind of input."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import klcli
from klcli.cli import app

runner = CliRunner()
DATA = "examples/data"


def cli_json(*args: str):
    result = runner.invoke(app, [*args, "--format", "json"])
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout)


def cli_error(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 2
    return result.stderr.strip().removeprefix("klcli: error: ")


@pytest.mark.parametrize(
    "p, q, options, flags",
    [
        ("3,3,4", "2,2,6", {}, []),
        ("0.1,0.9", "0.5,0.5", {"base": 2}, ["--base", "2"]),
        (f"{DATA}/tokens_sample.json", f"{DATA}/tokens_reference.json", {"smooth": 1e-3}, ["--smooth", "1e-3"]),
        (f"{DATA}/student_logits.npy", f"{DATA}/teacher_logits.npy", {"from_": "logits", "temperature": 2.0}, ["--from", "logits", "-T", "2"]),
        (f"{DATA}/hist_p.npy", f"{DATA}/hist_q.npy", {"reduction": "none"}, ["--reduction", "none"]),
        ("normal(0, 1)", "studentt(df=3)", {}, []),
        ("normal(0, 1)", "normal(1, 2)", {"engine": "mc", "samples": 2000, "seed": 3}, ["--engine", "mc", "--samples", "2000", "--seed", "3"]),
    ],
)
def test_to_dict_is_the_commands_json(p, q, options, flags):
    assert klcli.compare(p, q, **options).to_dict() == cli_json("compare", p, q, *flags)


def test_in_memory_inputs_match_the_files_they_came_from():
    p, q = f"{DATA}/student_logits.npy", f"{DATA}/teacher_logits.npy"
    expected = cli_json("compare", p, q, "--from", "logits")
    got = klcli.compare(np.load(p), np.load(q).astype(np.float32), from_="logits", names=(p, q)).to_dict()
    assert got.keys() == expected.keys()
    for key in ("kl_pq", "kl_qp", "js"):
        assert got[key] == pytest.approx(expected[key], rel=1e-6)  # float32 reference: upcast, not bit-equal


def test_lists_arrays_and_mappings_are_histograms():
    expected = klcli.compare("3,3,4", "2,2,6").values
    for p, q in (([3, 3, 4], [2, 2, 6]), (np.array([3, 3, 4]), (2, 2, 6)), ({"a": 3, "b": 3, "c": 4}, {"c": 6, "b": 2, "a": 2})):
        assert klcli.compare(p, q).values == expected


def test_a_series_is_labelled_by_its_index():
    p = pd.Series({"chrome": 60, "firefox": 30, "safari": 10})
    q = pd.Series({"safari": 20, "chrome": 50, "firefox": 30})
    expected = klcli.compare("0.6,0.3,0.1", "0.5,0.3,0.2").values
    assert klcli.compare(p, q).values == pytest.approx(expected)
    # a default 0..n-1 index is positional
    assert klcli.compare(pd.Series([3, 3, 4]), pd.Series([2, 2, 6])).values == klcli.compare([3, 3, 4], [2, 2, 6]).values


def test_torch_tensors():
    torch = pytest.importorskip("torch")
    logits = torch.tensor([[2.0, 0.5, -1.0], [0.0, 0.0, 3.0]], dtype=torch.bfloat16, requires_grad=True)
    r = klcli.compare(logits, torch.zeros(2, 3), from_="logits", reduction="none")
    expected = torch.nn.functional.kl_div(
        torch.log_softmax(torch.zeros(2, 3, dtype=torch.float64), -1), logits.detach().double().log_softmax(-1), log_target=True, reduction="none"
    ).sum(-1)
    np.testing.assert_allclose(r.kl_pq, expected.numpy(), rtol=1e-12)


def test_specs_and_distribution_objects():
    assert klcli.compare(klcli.parse_spec("normal(0, 1)"), "normal(1, 1)").kl_pq == 0.5


@pytest.mark.parametrize(
    "p, q, kwargs, cli",
    [
        ([0.5, -0.5], [0.5, 0.5], {}, ["0.5,-0.5", "0.5,0.5"]),
        ([1, 1], [1, 1, 1], {}, ["1,1", "1,1,1"]),
        ([0.5, 0.5], [0.5, 0.5], {"base": 1}, ["0.5,0.5", "0.5,0.5", "--base", "1"]),
        ([0.5, 0.5], [0.5, 0.5], {"temperature": 2.0}, ["0.5,0.5", "0.5,0.5", "-T", "2"]),
        ([0.5, 0.5], [0.5, 0.5], {"from_": "bogus"}, ["0.5,0.5", "0.5,0.5", "--from", "probs"]),
    ],
)
def test_errors_are_the_commands_messages(p, q, kwargs, cli):
    with pytest.raises(klcli.KlcliError) as caught:
        klcli.compare(p, q, **kwargs)
    if kwargs.get("from_") == "bogus":
        assert str(caught.value) == "`--from` must be one of probs, logprobs, logits, samples, sampled-logprobs, not 'bogus'"
        return
    message = cli_error("compare", *cli)
    assert str(caught.value) == message.replace(cli[1], "Q").replace(cli[0], "P")  # an array is named by its role


def test_bad_objects_say_what_they_are():
    with pytest.raises(klcli.InputError, match="P: index 0: NaN weight"):
        klcli.compare([float("nan"), 1], [1, 1])
    with pytest.raises(klcli.InputError, match="P: holds values that are not numbers"):
        klcli.compare(["a", "b"], [1, 1])
    with pytest.raises(klcli.InputError, match="P: has 3 dimensions"):
        klcli.compare(np.ones((2, 2, 2)), np.ones(2))
    with pytest.raises(klcli.InputError, match="P: holds no numbers"):
        klcli.compare([], [1])
    with pytest.raises(klcli.InputError, match="label 'a' appears more than once"):
        klcli.compare(pd.Series([1, 2], index=["a", "a"]), pd.Series([1, 2], index=["a", "b"]))


def test_batch_and_pairwise_equal_the_command():
    folder, reference = f"{DATA}/batch/daily", f"{DATA}/batch/reference.csv"
    assert klcli.batch(folder, reference, base=2).to_list() == cli_json("batch", "-r", reference, folder, "--base", "2")
    assert klcli.pairwise(folder, metric="js_distance").to_dict() == cli_json("batch", "--pairwise", folder, "--metric", "js_distance")
    frame = klcli.batch(folder, reference).to_frame()
    assert list(frame.index) == sorted(frame.index) and "kl_pq" in frame


def test_batch_keep_going_records_the_error(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("1\n-2\n")
    r = klcli.batch([f"{DATA}/batch/daily/2024-05-01.csv", str(bad)], f"{DATA}/batch/reference.csv", keep_going=True)
    assert r[1] is None and "negative weight" in r.errors[str(bad)] and r.to_list()[1]["error"] == r.errors[str(bad)]
    with pytest.raises(klcli.InputError, match="negative weight"):
        klcli.batch([str(bad)], f"{DATA}/batch/reference.csv")


def test_drift_of_data_frames_equals_the_command_on_files(tmp_path):
    reference, current = f"{DATA}/drift/reference.csv", f"{DATA}/drift/current.csv"
    expected = cli_json("drift", reference, current)
    from_files = klcli.drift(reference, current)
    assert from_files.to_dict() == expected
    frames = klcli.drift(pd.read_csv(reference), pd.read_csv(current))
    assert frames.drifted == expected["drifted"]
    got = {c["column"]: c for c in frames.columns}
    for column in expected["columns"]:
        assert got[column["column"]]["severity"] == column["severity"]
        assert got[column["column"]]["value"] == pytest.approx(column["value"], rel=1e-9, abs=1e-12)
    import pyarrow as pa

    arrow = klcli.drift(pa.Table.from_pandas(pd.read_csv(reference)), pd.read_csv(current))
    assert arrow.to_dict() == frames.to_dict()


def test_drift_options_are_validated_like_the_commands():
    ref = pd.DataFrame({"x": range(100)})
    with pytest.raises(klcli.UsageError) as caught:
        klcli.drift(ref, ref, alpha=2)
    assert str(caught.value) == cli_error("drift", f"{DATA}/drift/reference.csv", f"{DATA}/drift/current.csv", "--alpha", "2")
    with pytest.raises(klcli.InputError, match="current: expected a pandas DataFrame"):
        klcli.drift(ref, [1, 2])


def test_removed_names_say_what_to_use():
    with pytest.raises(AttributeError, match="use klcli.compare"):
        klcli.compare_probabilities  # noqa: B018


def test_api_names_survive_importing_their_modules():
    import klcli.batch  # noqa: F401
    import klcli.compare  # noqa: F401
    import klcli.drift.check  # noqa: F401

    assert (klcli.compare, klcli.batch, klcli.drift) == (klcli.api.compare, klcli.api.batch, klcli.api.drift)
    assert sys.modules["klcli.compare"].CompareOptions is not None


def test_import_klcli_imports_neither_pandas_nor_torch():
    code = "import sys, klcli; klcli.compare([1, 2], [2, 1]); print(sorted(m for m in ('pandas', 'torch', 'scipy.stats', 'pyarrow') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_no_import_takes_an_api_function_for_its_module():
    """`from klcli import compare` and `import klcli.drift.x as y` give the API functions, not the modules.

    Code must name these modules in full (`from klcli.compare import CompareOptions`,
    `from klcli.drift.engines import local`) or import them with importlib.
    """
    import pathlib
    import re

    root = pathlib.Path(__file__).resolve().parents[1]
    pattern = re.compile(r"^\s*(from klcli import .*\b(compare|batch|drift)\b|import klcli\.(compare|batch|drift)[\w.]* as )", re.M)
    offenders = [
        f"{path.relative_to(root)}: {match.group(0).strip()}"
        for folder in ("src", "tests", "benchmarks", "examples")
        for path in (root / folder).rglob("*.py")
        for match in pattern.finditer(path.read_text(encoding="utf-8"))
    ]
    assert not offenders, "these imports get klcli's API functions, not the modules: " + "; ".join(offenders)


def test_drift_takes_a_reference_profile(tmp_path, cli):
    import pandas as pd

    import klcli

    rng = np.random.default_rng(0)
    ref = pd.DataFrame({"x": rng.normal(size=2000), "c": rng.choice(["a", "b"], size=2000)})
    cur = pd.DataFrame({"x": rng.normal(0.5, 1, size=500), "c": rng.choice(["a", "b"], size=500, p=[0.7, 0.3])})
    ref.to_csv(tmp_path / "ref.csv", index=False)
    cur.to_csv(tmp_path / "cur.csv", index=False)
    assert cli("profile", tmp_path / "ref.csv", "-o", tmp_path / "ref.json").exit_code == 0
    from_profile = klcli.drift(tmp_path / "ref.json", tmp_path / "cur.csv").to_dict()
    from_table = klcli.drift(tmp_path / "ref.csv", tmp_path / "cur.csv").to_dict()
    assert from_profile["columns"] == from_table["columns"]


def test_sampled_logprobs_from_arrays_equal_the_command(tmp_path, cli):
    import klcli

    rng = np.random.default_rng(3)
    log_p = -rng.gamma(2.0, 1.0, size=400)
    log_q = log_p + rng.normal(0, 0.1, size=400)
    groups = np.arange(400) // 4
    for name, values in (("p", log_p), ("q", log_q), ("g", groups)):
        np.save(tmp_path / f"{name}.npy", values)
    api = klcli.compare(log_p, log_q, from_="sampled-logprobs", groups=groups, base=2).to_dict()
    command = cli(
        "compare", tmp_path / "p.npy", tmp_path / "q.npy", "--from", "sampled-logprobs", "--group", tmp_path / "g.npy", "-b", "2", "-f", "json"
    ).json()
    for key in ("kl_pq", "kl_qp", "js", "estimators", "mean_ratio", "draws_match_sampler"):
        assert api[key] == command[key], key
