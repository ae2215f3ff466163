"""Each HTML report rendered in headless Chromium: a picture appears and no request leaves the page.

Chromium (Debian's ``chromium``) is installed by ``.ci/run``; under CI this test
fails rather than skips when it is missing. Chromium's own background traffic
(``initiator: "not an origin"``) is told apart from the page's (a ``file://``
page's requests carry the initiator ``"null"``); a control page that does ask
for remote resources shows that the check can fail.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import numpy as np
import pytest

from tests.conftest import EXAMPLES, run_cli
from tests.test_report import needs_matplotlib

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
    # nothing reaches the network even if something asked: every host name fails to resolve
    "--host-resolver-rules=MAP * ~NOTFOUND",
]


def chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        if shutil.which(name):
            return shutil.which(name)
    if os.environ.get("CI"):
        pytest.fail("CI must install chromium (.ci/run does)")
    pytest.skip("needs chromium (apt-get install -y chromium)")


def render(page, tmp_path, *, height: int = 1600) -> tuple[np.ndarray, list[str]]:
    """Screenshot ``page`` in a fresh profile; return the pixels and the URLs the page requested."""
    from PIL import Image

    shot, netlog, profile = tmp_path / "shot.png", tmp_path / "net.json", tmp_path / "profile"
    done = subprocess.run(
        [
            chromium(),
            *FLAGS,
            f"--user-data-dir={profile}",
            f"--window-size=1100,{height}",
            f"--screenshot={shot}",
            f"--log-net-log={netlog}",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0 and shot.exists(), done.stderr[-2000:]
    log = json.loads(netlog.read_text())
    names = {number: name for name, number in log["constants"]["logEventTypes"].items()}
    requested = [
        event["params"]["url"]
        for event in log["events"]
        if names[event["type"]] == "URL_REQUEST_START_JOB"
        and "url" in event.get("params", {})
        and event["params"].get("initiator") != "not an origin"  # the browser's own, not the page's
    ]
    return np.asarray(Image.open(shot).convert("RGB")), requested


def drawn(pixels: np.ndarray) -> float:
    """The share of pixels that are not (near) white."""
    return float(np.mean(pixels.min(axis=2) < 240))


def coloured(pixels: np.ndarray) -> float:
    """The share of clearly coloured pixels (the charts' bars; text is grey)."""
    return float(np.mean(pixels.max(axis=2).astype(int) - pixels.min(axis=2) > 60))


def test_a_page_that_asks_for_the_network_is_caught(tmp_path):
    page = tmp_path / "control.html"
    page.write_text('<!DOCTYPE html><html><body><h1>control</h1><img src="http://example.invalid/x.png"></body></html>')
    pixels, requested = render(page, tmp_path, height=400)
    assert requested == ["http://example.invalid/x.png"]
    blank = tmp_path / "blank.html"
    blank.write_text("<!DOCTYPE html><html><body></body></html>")
    assert drawn(render(blank, tmp_path, height=400)[0]) == 0


REPORTS = {
    "compare": ["compare", str(EXAMPLES / "browsers_today.csv"), str(EXAMPLES / "browsers_baseline.csv")],
    "compare-rows": ["compare", str(EXAMPLES / "batch_p.npy"), str(EXAMPLES / "batch_q.npy"), "--reduction", "none"],
    "batch": ["batch", "-r", str(EXAMPLES / "batch" / "reference.csv"), str(EXAMPLES / "batch" / "daily")],
    "pairwise": ["batch", "--pairwise", str(EXAMPLES / "batch" / "daily")],
    "drift": ["drift", str(EXAMPLES / "drift" / "reference.csv"), str(EXAMPLES / "drift" / "current.csv")],
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(REPORTS))
def test_report_renders_offline_in_chromium(name, tmp_path):
    needs_matplotlib()
    chromium()
    page = tmp_path / f"{name}.html"
    result = run_cli(*REPORTS[name], "--format", "html", "--output", page)
    assert result.exit_code in (0, 1), result.stderr  # drift exits 1: it found drift
    pixels, requested = render(page, tmp_path)
    assert requested == []
    assert drawn(pixels) > 0.01, "the screenshot is (nearly) blank"
    assert coloured(pixels) > 0.002, "no chart was drawn"
