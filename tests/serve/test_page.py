"""The page in a real browser: Debian's chromium driven by Playwright against a real uvicorn on loopback."""

from __future__ import annotations

import shutil
import socket
import threading
import time
import urllib.request

import pytest

from symbolic.serve.app import create_app
from symbolic.serve.config import ServeConfig

from .conftest import melody

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]

playwright = pytest.importorskip("playwright.sync_api", reason="pip install playwright (the serve extra)")
if not shutil.which("chromium"):
    pytest.skip("Debian's chromium is not installed (make setup installs it)", allow_module_level=True)


@pytest.fixture(scope="module")
def server(tmp_path_factory, tiny_model):
    import uvicorn

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = ServeConfig(data_dir=tmp_path_factory.mktemp("page"), model=tiny_model, port=port)
    server = uvicorn.Server(uvicorn.Config(create_app(config), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    end = time.monotonic() + 30
    while not server.started and time.monotonic() < end:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def test_upload_accompany_listen_and_download(server, tmp_path):
    from symbolic.outputs.midi import write_midi

    tune = write_midi(melody(), tmp_path / "tune.mid")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 390, "height": 844})  # a phone's width
        page.goto(server + "/")
        page.screenshot(path=tmp_path / "1-empty.png", full_page=True)
        page.set_input_files("#file", str(tune))
        page.wait_for_selector("#read:not([hidden])")
        assert "4 bars of 4/4" in page.inner_text("#read-summary")
        assert page.inner_text("#tracks tr.melody td:last-child") == "melody"
        page.screenshot(path=tmp_path / "2-read.png", full_page=True)
        page.fill("#style", "chorale")
        page.click("#run")
        page.wait_for_selector("#result:not([hidden])", timeout=60_000)
        page.wait_for_function("document.getElementById('roll').complete "
                               "&& document.getElementById('roll').naturalWidth > 0", timeout=20_000)
        page.screenshot(path=tmp_path / "3-done.png", full_page=True)
        assert page.inner_text("#status").startswith("Done.")
        audio = page.get_attribute("#audio-result", "src")
        with urllib.request.urlopen(server + audio) as response:
            assert response.read(4) == b"OggS"
        duration = page.evaluate("""() => new Promise((resolve) => {
            const audio = document.getElementById('audio-result');
            audio.preload = 'auto';
            audio.addEventListener('loadedmetadata', () => resolve(audio.duration));
            audio.addEventListener('error', () => resolve(-1));
            audio.load();
        })""")
        assert duration > 7.0  # four bars at 120 beats a minute, and the tail
        with page.expect_download() as download:
            page.click("#dl-mid")
        job_id = page.get_attribute("#dl-mid", "href").split("/")[3]
        with urllib.request.urlopen(f"{server}/api/jobs/{job_id}/result.mid") as response:
            assert open(download.value.path(), "rb").read() == response.read()
        assert "accompany tune.mid in chorale (done)" in page.inner_text("#history")
        page.reload()
        assert "accompany tune.mid in chorale (done)" in page.inner_text("#history")  # a reload loses nothing
        browser.close()
