"""Screenshots of the ``symbolic serve`` page with the shipped model, for docs/serve.png and for looking at.

Starts the app on a free loopback port, opens it in Debian's chromium (Playwright, no browser download),
uploads a held-out folk tune (8 bars), accompanies it in a 70/30 mix of two styles chosen with the slider
and saves the page at desktop width (1000 px) and at a phone's width (390 px) into ``--out``.

    python benchmarks/serve_screenshots.py --out /tmp/shots [--model default] [--docs docs/serve.png]
"""

from __future__ import annotations

import argparse
import socket
import tempfile
import threading
import time
from pathlib import Path

ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]


def start_server(model: str, data_dir: Path):
    import uvicorn

    from symbolic.serve.app import create_app
    from symbolic.serve.config import ServeConfig

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(ServeConfig(data_dir=data_dir, model=model, port=port)),
                                           host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return server, f"http://127.0.0.1:{port}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--model", default="default")
    parser.add_argument("--docs", type=Path, help="also write the desktop screenshot of the result here, "
                                                  "in 128 colours (docs/serve.png)")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    from symbolic.jobs.demo import held_out_piece
    from symbolic.outputs.midi import write_midi

    args.out.mkdir(parents=True, exist_ok=True)
    _, tune = held_out_piece("german-folk", bars=8)
    tune_path = write_midi(tune, args.out / "folk-tune.mid")
    server, url = start_server(args.model, Path(tempfile.mkdtemp(prefix="serve-shots-")))
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        for name, width in (("desktop", 1000), ("phone", 390)):
            page = browser.new_page(viewport={"width": width, "height": 900})
            page.goto(url + "/")
            page.set_input_files("#file", str(tune_path))
            page.wait_for_selector("#read:not([hidden])")
            page.check("input[name=style-by][value=mix]")
            page.select_option("#mix-a", "german-folk")
            page.select_option("#mix-b", "classical")
            page.fill("#mix-slider", "30")
            page.wait_for_function("document.getElementById('style-resolved').textContent.includes('30%')")
            page.screenshot(path=args.out / f"{name}-1-chosen.png", full_page=True)
            page.click("#run")
            page.wait_for_timeout(3000)
            page.screenshot(path=args.out / f"{name}-2-running.png", full_page=True)
            page.wait_for_selector("#result:not([hidden])", timeout=600_000)
            page.wait_for_function("document.getElementById('roll').naturalWidth > 0")
            page.screenshot(path=args.out / f"{name}-3-done.png", full_page=True)
            if name == "desktop" and args.docs:
                from PIL import Image  # matplotlib's dependency: 128 flat colours keep the PNG small

                shot = Image.open(args.out / f"{name}-3-done.png").convert("RGB")
                shot.quantize(colors=128, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(
                    args.docs, optimize=True)
            page.close()
        browser.close()
    server.should_exit = True
    print(f"screenshots in {args.out}")


if __name__ == "__main__":
    main()
