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

from symbolic.score import Note, Track

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


def _assert_two_colours(url: str, path) -> None:
    """The roll PNG at ``url`` shows the melody's and the new parts' colours, each in many pixels."""
    import numpy as np
    from matplotlib.image import imread

    from symbolic.evaluation.figures import ROLE_COLOURS

    with urllib.request.urlopen(url) as response:
        path.write_bytes(response.read())
    image = imread(path)[..., :3]
    for role in ("melody", "new"):
        rgb = np.array([int(ROLE_COLOURS[role][0][i:i + 2], 16) for i in (1, 3, 5)]) / 255.0
        assert np.all(np.abs(image - rgb) < 0.02, axis=-1).sum() > 100, role


def test_upload_accompany_listen_and_download(server, tmp_path):
    from symbolic.outputs.midi import write_midi

    tune = write_midi(melody(), tmp_path / "tune.mid")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 390, "height": 844})  # a phone's width
        page.goto(server + "/")
        page.screenshot(path=tmp_path / "1-empty.png", full_page=True)
        unlabelled = page.evaluate("""() => [...document.querySelectorAll('input, select, button')]
            .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label') && !e.textContent.trim())
            .map(e => e.id || e.name)""")
        assert unlabelled == []  # every control has a label a screen reader can say
        # two tracks: the melody is marked, and the chooser moves the mark
        band = melody()
        band.tracks.append(Track(program=32, name="bass", notes=[Note(480 * k, 900, 43, 80) for k in range(0, 16, 2)]))
        page.set_input_files("#file", str(write_midi(band, tmp_path / "band.mid")))
        page.wait_for_selector("#read:not([hidden])")
        assert page.inner_text("#tracks tr.melody td:first-child") == "0"
        page.select_option("#melody", "1")
        assert page.inner_text("#tracks tr.melody td:first-child") == "1"
        assert page.inner_text("#tracks tr.melody td:last-child") == "melody"
        # a reference piece: the server says what the style classifier hears in it
        page.check("input[name=style-by][value=reference]")
        page.set_input_files("#reference", str(tune))
        page.wait_for_function("document.getElementById('style-resolved').textContent.includes('reference piece:')")
        page.check("input[name=style-by][value=name]")
        page.set_input_files("#file", str(tune))
        page.wait_for_selector("#read:not([hidden])")
        assert "4 bars of 4/4" in page.inner_text("#read-summary")
        assert page.inner_text("#tracks tr.melody td:last-child") == "melody"
        page.screenshot(path=tmp_path / "2-read.png", full_page=True)
        resolved = "#style-resolved"
        page.check("input[name=style-by][value=words]")
        page.fill("#style-words", "a lively irish jig")
        page.wait_for_function(f"document.querySelector('{resolved}').textContent.includes('irish 100%')")
        assert "from the description 'a lively irish jig'" in page.inner_text(resolved)
        page.fill("#style-words", "xyzzy")
        page.wait_for_selector(f"{resolved}.error")  # the library's own message, on the page
        assert "points to a style" in page.inner_text(resolved)
        # the mix, by keyboard only: the radio, two styles, the slider (30% by default, one step of 5 up)
        page.focus("input[name=style-by][value=words]")
        page.keyboard.press("ArrowLeft")  # radios move with the arrow keys: words -> mix
        assert page.is_checked("input[name=style-by][value=mix]")
        page.select_option("#mix-a", "irish")
        page.select_option("#mix-b", "chorale")
        page.focus("#mix-slider")
        page.keyboard.press("ArrowRight")
        page.wait_for_function(f"document.querySelector('{resolved}').textContent.includes('chorale 35%')")
        assert page.inner_text(resolved) == "The server will use: style irish 65%, chorale 35%."
        assert page.get_attribute("#mix-slider", "aria-valuetext") == "irish 65%, chorale 35%"
        page.screenshot(path=tmp_path / "3-style.png", full_page=True)
        # a bad value left in another job's hidden field never blocks the job asked for
        page.check("input[name=job][value=continue]")
        page.fill("#bars", "-3")
        page.check("input[name=job][value=accompany]")
        assert page.is_disabled("#bars")
        page.fill("#chords", "C | G\nAm | F")  # a line break ends a bar
        page.click("#run")
        page.wait_for_selector("#result:not([hidden])", timeout=60_000)
        page.wait_for_function("document.getElementById('roll').complete "
                               "&& document.getElementById('roll').naturalWidth > 0", timeout=20_000)
        page.screenshot(path=tmp_path / "4-done.png", full_page=True)
        assert page.inner_text("#status").startswith("Done.")
        assert page.inner_text("#style-used") == "Style irish 65%, chorale 35%."
        assert "chords: the 4 chords given with the input" in page.inner_text("#decisions")  # the chart was followed
        # the style classifier's reading: a row per style, the original's and the result's percentages
        rows = page.eval_on_selector_all("#reading tbody tr", "rows => rows.map(r => r.innerText.split('\\t'))")
        assert len(rows) >= 2 and all(len(row) == 3 and row[1].strip().endswith("%") for row in rows)
        assert sum(int(row[2].strip().rstrip("%")) for row in rows) in range(97, 104)  # rounded shares of 1
        # the roll: the kept melody and the new parts in two colours, named in the legend
        legend = page.eval_on_selector_all("#roll-legend li", "items => items.map(i => i.dataset.role)")
        assert legend == ["melody", "new"], legend
        _assert_two_colours(server + page.get_attribute("#roll", "src"), tmp_path / "roll.png")
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
        assert "accompany tune.mid in irish:0.65,chorale:0.35 (done)" in page.inner_text("#history")
        page.reload()
        assert "accompany tune.mid in irish:0.65,chorale:0.35 (done)" in page.inner_text("#history")  # kept
        browser.close()


def test_the_api_page_renders_every_operation_offline(server, tmp_path):
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page()
        elsewhere = []
        page.on("request", lambda request: None if request.url.startswith(server) or request.url.startswith("data:")
                else elsewhere.append(request.url))
        page.goto(server + "/docs")
        page.wait_for_selector(".opblock", timeout=20_000)  # Swagger UI read the schema and drew the operations
        page.screenshot(path=tmp_path / "docs.png", full_page=True)
        paths = page.eval_on_selector_all(".opblock-summary-path", "nodes => nodes.map(n => n.textContent)")
        assert {"/api/health", "/api/jobs", "/api/style"} <= {path.replace("\u200b", "") for path in paths}
        assert elsewhere == []  # nothing from another host: it works offline
        browser.close()
