"""Streamed batches of logits: the same numbers as the whole-array path, per-row statistics, tensor files, bad input."""

from __future__ import annotations

import json
import math
import struct
import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from klcli import discrete, logits_stream
from klcli.compare import CompareOptions, compare_histograms, compare_sources
from klcli.errors import InputError
from klcli.logits_stream import row_summary
from klcli.sources import read_source
from tests.conftest import run_cli

KEYS = ("kl_pq", "kl_qp", "js", "entropy_p", "entropy_q")


def whole_array(p, q, *, mode="logits", temperature=1.0):
    """Per-row values as the code before streaming computed them: float64 arrays in one piece."""
    p, q = np.asarray(p, np.float64), np.asarray(q, np.float64)
    if mode == "probs":
        p, q = p / p.sum(-1, keepdims=True), q / q.sum(-1, keepdims=True)
        return discrete.divergences(p, q)
    lp = discrete.log_softmax(p, temperature=temperature)
    lq = discrete.log_softmax(q, temperature=temperature)
    return discrete.divergences(np.exp(lp), np.exp(lq), log_p=lp, log_q=lq)


def streamed(tmp_path, p, q, **options):
    np.save(tmp_path / "p.npy", p)
    np.save(tmp_path / "q.npy", q)
    options.setdefault("from_", "logits")
    return compare_sources(str(tmp_path / "p.npy"), str(tmp_path / "q.npy"), CompareOptions(reduction="none", **options))


@pytest.fixture
def small_blocks(monkeypatch):
    """Blocks of a few rows on two threads, so that every test crosses block boundaries."""
    monkeypatch.setattr(logits_stream, "BLOCK_ELEMENTS", 100)
    monkeypatch.setattr(discrete, "_threads", lambda: 2)


def logits_pair(rows=37, vocab=23, seed=0, dtype=np.float32):
    rng = np.random.default_rng(seed)
    p = rng.normal(0, 4, (rows, vocab)).astype(dtype)
    q = (p + rng.normal(0, 0.3, (rows, vocab))).astype(dtype)
    return p, q


@pytest.mark.parametrize("mode,temperature", [("logits", 1.0), ("logits", 2.5), ("logprobs", 1.0), ("probs", 1.0)])
def test_blocks_give_the_whole_array_values(tmp_path, small_blocks, mode, temperature):
    p, q = logits_pair()
    if mode == "probs":
        p, q = np.exp(p), np.exp(q)
    if mode == "logprobs":
        p, q = discrete.log_softmax(p).astype(np.float32), discrete.log_softmax(q).astype(np.float32)
    expected = whole_array(p, q, mode=mode, temperature=temperature)
    got = streamed(tmp_path, p, q, from_=mode, temperature=temperature)
    options = CompareOptions(from_=mode, temperature=temperature, reduction="none")
    before = compare_histograms(read_source(str(tmp_path / "p.npy")), read_source(str(tmp_path / "q.npy")), options)
    for key in KEYS:
        np.testing.assert_allclose(got.values[key], expected[key], rtol=1e-12, atol=0)
        assert np.array_equal(got.values[key], before.values[key])  # the whole-array path, to the last bit
    assert got.notes == before.notes


def test_masked_vocabulary_entries_and_an_infinite_row(tmp_path, small_blocks):
    p, q = logits_pair(rows=12, vocab=9)
    p[3, :4] = -np.inf  # masked vocabulary on one side only: KL(Q‖P) infinite in row 3
    q[5, 2] = -np.inf  # and KL(P‖Q) infinite in row 5
    p[7, :3] = q[7, :3] = -np.inf  # masked on both sides: finite
    expected = whole_array(p, q)
    got = streamed(tmp_path, p, q)
    for key in KEYS:
        np.testing.assert_allclose(got.values[key], expected[key], rtol=1e-12)
    assert math.isinf(got.values["kl_qp"][3]) and math.isinf(got.values["kl_pq"][5])
    assert np.isfinite(got.values["kl_pq"][7]) and got.info["zero_bins_q"] == 1 and got.info["zero_bins_p"] == 4
    assert any("row 5: 2" in note for note in got.notes)


@settings(max_examples=25, deadline=None)
@given(rows=st.integers(1, 30), vocab=st.integers(1, 40), block=st.integers(1, 200), seed=st.integers(0, 2**16))
def test_any_block_size_gives_the_same_values(tmp_path_factory, rows, vocab, block, seed):
    tmp_path = tmp_path_factory.mktemp("blocks")
    p, q = logits_pair(rows, vocab, seed)
    saved = logits_stream.BLOCK_ELEMENTS
    logits_stream.BLOCK_ELEMENTS = block
    try:
        got = streamed(tmp_path, p, q)
    finally:
        logits_stream.BLOCK_ELEMENTS = saved
    expected = whole_array(p, q)
    for key in KEYS:
        np.testing.assert_allclose(np.atleast_1d(got.values[key]), expected[key], rtol=1e-12)


def test_agrees_with_torch_kl_div_on_float16_input(tmp_path):
    torch = pytest.importorskip("torch")
    p, q = logits_pair(rows=64, vocab=500, dtype=np.float16)
    np.save(tmp_path / "p.npy", p)
    np.save(tmp_path / "q.npy", q)
    out = run_cli("compare", tmp_path / "p.npy", tmp_path / "q.npy", "--from", "logits", "-T", "2", "-f", "json").json()
    lp = torch.log_softmax(torch.from_numpy(p).double() / 2, -1)
    lq = torch.log_softmax(torch.from_numpy(q).double() / 2, -1)
    expected = torch.nn.functional.kl_div(lq, lp, reduction="batchmean", log_target=True).item()
    assert out["kl_pq"] == pytest.approx(expected, rel=1e-12)


def test_device_blocks_match_the_numpy_blocks(tmp_path, monkeypatch):
    pytest.importorskip("torch")
    monkeypatch.setitem(logits_stream.TORCH_BLOCK_ELEMENTS, "cpu", 60)
    p, q = logits_pair(rows=20, vocab=17)
    p[2, :5] = -np.inf
    targets = np.arange(20) % 17
    np.save(tmp_path / "t.npy", targets)
    numpy_blocks = streamed(tmp_path, p, q, summary=True, targets=str(tmp_path / "t.npy"))
    torch_blocks = streamed(tmp_path, p, q, summary=True, targets=str(tmp_path / "t.npy"), device="cpu")
    for key in KEYS:
        np.testing.assert_allclose(torch_blocks.values[key], numpy_blocks.values[key], rtol=1e-12)
    for key in ("top1_agreement", "perplexity_p", "perplexity_q"):
        assert torch_blocks.info[key] == pytest.approx(numpy_blocks.info[key], rel=1e-12)
    assert torch_blocks.info["zero_bins_p"] == numpy_blocks.info["zero_bins_p"] == 5
    assert torch_blocks.info["backend"] == "torch:cpu"


# ---------------------------------------------------------------------------
# Per-row statistics


def test_summary_matches_numpy_on_the_per_row_values(tmp_path, small_blocks):
    p, q = logits_pair(rows=101, vocab=13, seed=3)
    per_row = whole_array(p, q)
    out = streamed(tmp_path, p, q, summary=True, top=3, base="2")
    summary = out.info["summary"]
    for key, values in (("kl_pq", per_row["kl_pq"]), ("js", per_row["js"]), ("symmetric_kl", per_row["kl_pq"] + per_row["kl_qp"])):
        bits = values / math.log(2)
        stats = summary[key]
        assert stats["mean"] == pytest.approx(bits.mean(), rel=1e-12)
        assert stats["stderr"] == pytest.approx(bits.std(ddof=1) / math.sqrt(101), rel=1e-12)
        for name, f in (("median", 0.5), ("p90", 0.9), ("p99", 0.99), ("p99_9", 0.999)):
            assert stats[name] == pytest.approx(np.quantile(bits, f), rel=1e-12)
        assert (stats["min"], stats["max"]) == pytest.approx((bits.min(), bits.max()), rel=1e-12)
        assert [t["row"] for t in stats["top"]] == list(np.argsort(-bits)[:3])
    assert out.info["top1_agreement"] == pytest.approx(np.mean(p.argmax(1) == q.argmax(1)))


def test_summary_with_an_infinite_row_has_no_nan():
    values = np.array([0.1, 0.2, np.inf, 0.3])
    s = row_summary(values, np.arange(4), top=1)
    assert s["mean"] == s["stderr"] == s["max"] == math.inf
    assert s["median"] == pytest.approx(0.25) and s["p99"] == math.inf
    assert s["top"] == [{"row": 2, "value": math.inf}]
    assert row_summary(np.array([0.5]), np.arange(1))["stderr"] is None


def test_targets_give_perplexities_and_delta_p(tmp_path, small_blocks):
    torch = pytest.importorskip("torch")
    p, q = logits_pair(rows=40, vocab=11, seed=5)
    targets = np.random.default_rng(1).integers(0, 11, 40)
    np.save(tmp_path / "t.npy", targets)
    out = streamed(tmp_path, p, q, summary=True, targets=str(tmp_path / "t.npy"))
    lp = torch.log_softmax(torch.from_numpy(p).double(), -1)[torch.arange(40), torch.from_numpy(targets)]
    lq = torch.log_softmax(torch.from_numpy(q).double(), -1)[torch.arange(40), torch.from_numpy(targets)]
    assert out.info["perplexity_p"] == pytest.approx(torch.exp(-lp.mean()).item(), rel=1e-12)
    assert out.info["perplexity_q"] == pytest.approx(torch.exp(-lq.mean()).item(), rel=1e-12)
    assert out.info["log_perplexity_ratio"] == pytest.approx(math.log(out.info["perplexity_p"] / out.info["perplexity_q"]), rel=1e-9)
    delta = (lp.exp() - lq.exp()).numpy()
    stats = out.info["summary"]["delta_p"]
    assert stats["mean"] == pytest.approx(delta.mean(), rel=1e-12)
    assert stats["p99"] == pytest.approx(np.quantile(delta, 0.99), rel=1e-12)
    assert stats["rms"] == pytest.approx(np.sqrt(np.mean(delta**2)), rel=1e-12)


def test_three_dimensional_batch_with_a_mask_is_the_kept_rows(tmp_path, small_blocks):
    p, q = logits_pair(rows=2 * 7, vocab=10, seed=8)
    mask = np.ones((2, 7), dtype=bool)
    mask[0, 5:] = mask[1, 3:] = False
    targets = np.where(mask, 4, -100)  # padding positions hold an ignore index
    p3, q3 = p.reshape(2, 7, 10), q.reshape(2, 7, 10)
    p3[~mask] = np.nan  # padding rows are never read as numbers
    np.save(tmp_path / "mask.npy", mask)
    np.save(tmp_path / "t.npy", targets)
    out = streamed(tmp_path, p3, q3, summary=True, mask=str(tmp_path / "mask.npy"), targets=str(tmp_path / "t.npy"))
    kept = mask.ravel()
    expected = whole_array(p[kept], q[kept])
    np.testing.assert_allclose(out.values["kl_pq"], expected["kl_pq"], rtol=1e-12)
    assert out.info["rows"] == kept.sum() and out.info["rows_masked"] == 6
    top = out.info["summary"]["kl_pq"]["top"][0]
    assert top["row"] == top["batch"] * 7 + top["position"] and kept[top["row"]]


# ---------------------------------------------------------------------------
# Tensor files


def test_safetensors_bfloat16_and_float16(tmp_path):
    torch = pytest.importorskip("torch")
    safetensors_torch = pytest.importorskip("safetensors.torch")
    p, q = logits_pair(rows=6, vocab=50)
    tensors = {"teacher": torch.from_numpy(p).to(torch.bfloat16), "student": torch.from_numpy(q).half()}
    safetensors_torch.save_file(tensors, tmp_path / "out.safetensors")
    out = run_cli("compare", f"{tmp_path}/out.safetensors:teacher", f"{tmp_path}/out.safetensors:student", "--from", "logits", "-f", "json").json()
    loaded = safetensors_torch.load_file(tmp_path / "out.safetensors")
    lp = torch.log_softmax(loaded["teacher"].double(), -1)
    lq = torch.log_softmax(loaded["student"].double(), -1)
    expected = torch.nn.functional.kl_div(lq, lp, reduction="batchmean", log_target=True).item()
    assert out["kl_pq"] == pytest.approx(expected, rel=1e-12)
    assert out["p"].endswith("out.safetensors:teacher") and out["rows"] == 6


def test_npz_member_and_a_single_safetensors_tensor(tmp_path):
    safetensors_numpy = pytest.importorskip("safetensors.numpy")
    p, q = logits_pair(rows=5, vocab=8)
    np.savez_compressed(tmp_path / "run.npz", p=p, q=q)
    safetensors_numpy.save_file({"logits": q}, tmp_path / "q.safetensors")
    a = run_cli("compare", f"{tmp_path}/run.npz:p", f"{tmp_path}/run.npz:q", "--from", "logits", "-f", "json").json()
    b = run_cli("compare", f"{tmp_path}/run.npz:p", tmp_path / "q.safetensors", "--from", "logits", "-f", "json").json()
    assert a["kl_pq"] == b["kl_pq"] == pytest.approx(float(np.mean(whole_array(p, q)["kl_pq"])), rel=1e-12)


def test_one_distribution_against_a_batch_is_broadcast(tmp_path):
    p, q = logits_pair(rows=4, vocab=6)
    np.save(tmp_path / "p.npy", p[0])
    np.save(tmp_path / "q.npy", q)
    out = run_cli("compare", tmp_path / "p.npy", tmp_path / "q.npy", "--from", "logits", "--summary", "-f", "json").json()
    assert out["kl_pq"] == pytest.approx(float(np.mean(whole_array(np.tile(p[0], (4, 1)), q)["kl_pq"])), rel=1e-12)


def test_memory_is_bounded_by_the_block_not_the_rows(tmp_path, monkeypatch):
    monkeypatch.setattr(logits_stream, "BLOCK_ELEMENTS", 1 << 15)
    vocab = 4096
    peaks = []
    for rows in (500, 2000):  # 8 and 32 MiB of float32 a side
        p, q = logits_pair(rows, vocab, dtype=np.float32)
        np.save(tmp_path / "p.npy", p)
        np.save(tmp_path / "q.npy", q)
        del p, q
        tracemalloc.start()
        compare_sources(str(tmp_path / "p.npy"), str(tmp_path / "q.npy"), CompareOptions(from_="logits", summary=True))
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    assert peaks[1] < 16 * 2**20  # half of one side: blocks, the core's scratch buffers and the per-row values
    assert peaks[1] < 1.25 * peaks[0]  # flat in the number of rows


# ---------------------------------------------------------------------------
# Bad input: one line naming file, tensor and row; exit 2


def fails(*args) -> str:
    result = run_cli("compare", *args)
    assert result.exit_code == 2, result.stdout
    assert result.stderr.startswith("klcli: error: ") and result.stderr.count("\n") == 1
    return result.stderr


@pytest.mark.parametrize(
    "bad,expected",
    [
        (np.nan, "row 4, column 2: logits must be finite numbers or -inf, found nan"),
        (np.inf, "row 4, column 2: logits must be finite numbers or -inf, found inf"),
    ],
)
def test_non_finite_logits_name_the_row(tmp_path, small_blocks, bad, expected):
    p, q = logits_pair(rows=9, vocab=5)
    p[4, 2] = bad
    np.save(tmp_path / "p.npy", p)
    np.save(tmp_path / "q.npy", q)
    assert f"p.npy: {expected}" in fails(tmp_path / "p.npy", tmp_path / "q.npy", "--from", "logits")


def test_a_row_all_minus_inf_is_refused(tmp_path, small_blocks):
    p, q = logits_pair(rows=9, vocab=5)
    q[7] = -np.inf
    np.save(tmp_path / "p.npy", p)
    np.save(tmp_path / "q.npy", q)
    assert "q.npy: row 7: every entry is -inf" in fails(tmp_path / "p.npy", tmp_path / "q.npy", "--from", "logits")


def test_shape_mismatches(tmp_path):
    p, q = logits_pair(rows=4, vocab=6)
    np.save(tmp_path / "p.npy", p)
    np.save(tmp_path / "q5.npy", q[:, :5])
    np.save(tmp_path / "q3.npy", q[:3])
    assert "6 categories per row" in fails(tmp_path / "p.npy", tmp_path / "q5.npy", "--from", "logits")
    assert "4 rows" in fails(tmp_path / "p.npy", tmp_path / "q3.npy", "--from", "logits")


def test_bad_targets_and_masks(tmp_path):
    p, q = logits_pair(rows=4, vocab=6)
    np.save(tmp_path / "p.npy", p)
    np.save(tmp_path / "q.npy", q)
    base = [tmp_path / "p.npy", tmp_path / "q.npy", "--from", "logits"]
    np.save(tmp_path / "t.npy", np.array([0, 1, 6, 2]))
    assert "t.npy: row 2: target 6 is not a category index in 0..5" in fails(*base, "--targets", tmp_path / "t.npy")
    np.save(tmp_path / "short.npy", np.array([0, 1, 2]))
    assert "shape (3,)" in fails(*base, "--targets", tmp_path / "short.npy")
    np.save(tmp_path / "m.npy", np.array([1, 0, 2, 1]))
    assert "m.npy: row 2: mask value 2 is not 0 or 1" in fails(*base, "--mask", tmp_path / "m.npy")
    np.save(tmp_path / "none.npy", np.zeros(4))
    assert "drops every row" in fails(*base, "--mask", tmp_path / "none.npy")
    assert "need a batch" in fails("0.1,0.9", "0.5,0.5", "--summary")
    assert "--from probs, logprobs or logits" in fails("normal(0,1)", "normal(1,1)", "--summary", "--from", "samples")


def write_safetensors(path, header: dict, data: bytes) -> None:
    text = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(text)) + text + data)


@pytest.mark.parametrize(
    "header,data,expected",
    [
        ({"x": {"dtype": "F32", "shape": [2**20, 2**20], "data_offsets": [0, 2**42]}}, b"\0" * 16, "lie outside the 16 bytes"),
        ({"x": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 16]}}, b"\0" * 16, "needs 24 bytes but data_offsets span 16"),
        (
            {"x": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]}, "y": {"dtype": "F32", "shape": [2, 2], "data_offsets": [8, 24]}},
            b"\0" * 24,
            "x.safetensors:y: data_offsets start at 8",
        ),
        ({"x": {"dtype": "F8_E4M3", "shape": [4], "data_offsets": [0, 4]}}, b"\0" * 4, "unsupported dtype 'F8_E4M3'"),
        ({"x": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}, b"\0" * 12, "describes 4 bytes of data but the file holds 12"),
    ],
)
def test_lying_safetensors_headers_are_refused_before_reading(tmp_path, header, data, expected):
    write_safetensors(tmp_path / "x.safetensors", header, data)
    np.save(tmp_path / "q.npy", np.zeros((2, 3), np.float32))
    tracemalloc.start()
    message = fails(tmp_path / "x.safetensors", tmp_path / "q.npy", "--from", "logits")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert expected in message and peak < 2**24


def test_a_huge_npy_header_is_refused_before_allocating(tmp_path):
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': (1099511627776, 2), }"
    header += " " * (63 - len(header) % 64) + "\n"
    (tmp_path / "huge.npy").write_bytes(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + b"\0" * 64)
    np.save(tmp_path / "q.npy", np.zeros((2, 2), np.float32))
    message = fails(tmp_path / "huge.npy", tmp_path / "q.npy", "--from", "logits")
    assert "huge.npy: truncated: the header promises 8 TiB of data (shape (1099511627776, 2), dtype float32) but 64 bytes follow" in message


def test_a_missing_tensor_lists_the_names(tmp_path):
    from klcli.tensors import open_tensor

    write_safetensors(tmp_path / "x.safetensors", {"logits": {"dtype": "F16", "shape": [2, 4], "data_offsets": [0, 16]}}, b"\0" * 16)
    with pytest.raises(InputError, match="x.safetensors: no tensor named 'other' \\(it holds logits\\)"):
        open_tensor(f"{tmp_path}/x.safetensors:other")
    write_safetensors(tmp_path / "short.safetensors", {"logits": {"dtype": "F16", "shape": [2, 4], "data_offsets": [0, 16]}}, b"\0" * 8)
    with pytest.raises(InputError, match="lie outside the 8 bytes of data"):
        open_tensor(f"{tmp_path}/short.safetensors")


# ---------------------------------------------------------------------------
# Output


def test_table_and_csv_show_the_summary(tmp_path):
    p, q = logits_pair(rows=8, vocab=5)
    np.save(tmp_path / "p.npy", p)
    np.save(tmp_path / "q.npy", q)
    np.save(tmp_path / "t.npy", np.arange(8) % 5)
    args = [tmp_path / "p.npy", tmp_path / "q.npy", "--from", "logits", "--summary", "--targets", tmp_path / "t.npy"]
    table = run_cli("compare", *args)
    assert table.exit_code == 0
    assert "per-row statistics of 8 rows" in table.stdout and "top-1 agreement" in table.stdout and "perplexity on the targets" in table.stdout
    assert max(len(line) for line in table.stdout.splitlines()) <= 80
    record = run_cli("compare", *args, "-f", "json").json()
    assert set(record["summary"]) == {"kl_pq", "kl_qp", "symmetric_kl", "js", "delta_p"}
    assert set(record["summary"]["kl_pq"]) >= {"mean", "stderr", "median", "p90", "p99", "p99_9", "min", "max", "top"}
    assert {"top1_agreement", "perplexity_p", "perplexity_q", "log_perplexity_ratio"} <= set(record)


def test_one_dimensional_tensors_are_histograms_everywhere(tmp_path):
    safetensors_numpy = pytest.importorskip("safetensors.numpy")
    np.savez(tmp_path / "h.npz", a=np.array([1.0, 3.0]), b=np.array([2.0, 2.0]))
    safetensors_numpy.save_file({"a": np.array([1, 3], np.float32)}, tmp_path / "a.safetensors")
    from_npz = run_cli("compare", f"{tmp_path}/h.npz:a", f"{tmp_path}/h.npz:b", "-f", "json").json()
    from_safetensors = run_cli("compare", tmp_path / "a.safetensors", "0.5,0.5", "-f", "json").json()
    expected = 0.25 * math.log(0.5) + 0.75 * math.log(1.5)
    assert from_npz["kl_pq"] == pytest.approx(expected, rel=1e-12) and from_safetensors["kl_pq"] == pytest.approx(expected, rel=1e-12)
    batch = run_cli("batch", "--reference", "0.5,0.5", tmp_path / "a.safetensors", "-f", "json").json()
    assert batch[0]["kl_pq"] == pytest.approx(expected, rel=1e-12)


def test_whole_arrays_keep_the_size_limit_streamed_rows_do_not(tmp_path, monkeypatch):
    p, q = logits_pair(rows=4, vocab=6)
    np.save(tmp_path / "p.npy", p)
    np.save(tmp_path / "q.npy", q)
    np.save(tmp_path / "m.npy", np.ones(4))
    monkeypatch.setenv("KLCLI_MAX_ARRAY_BYTES", "16")  # below one side (192 bytes as float64) and the mask (32)
    assert run_cli("compare", tmp_path / "p.npy", tmp_path / "q.npy", "--from", "logits").exit_code == 0
    assert "above the limit" in fails(tmp_path / "p.npy", tmp_path / "q.npy", "--from", "logits", "--mask", tmp_path / "m.npy")
