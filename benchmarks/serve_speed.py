"""How fast `symbolic serve` answers (docs/results/serve-speed.md).

    OMP_NUM_THREADS=1 python benchmarks/serve_speed.py [--model default] [--jobs 6] [--song FILE.mid] [--out FILE.md]

Runs the real app (FastAPI's test client over HTTP semantics, the real worker pool of 2 spawned
processes, the real model) on one 16-bar melody: the first 16 bars of POP909 song 001's MELODY track
(``../shared/data/pop909/001/001.mid``), accompanied in the ``pop`` style when the model has it (else
``chorale``) with the job's default parts.

- upload to first sound, cold: a fresh server, one job, from the POST until ``result.ogg`` has been fetched
  (includes the worker process starting and loading the model);
- jobs per minute with 2 workers: ``--jobs`` jobs submitted at once to the warm server, jobs / wall minutes
  from the first POST to the last job done; each job's own upload-to-first-sound is listed too;
- memory per worker: the peak resident set (``VmHWM`` of ``/proc/PID/status``) of each worker process;
- with ``--song``: one whole file (the three-minute pop song figure) accompanied the same way, upload to
  first sound on the warm server.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

from fastapi.testclient import TestClient

from symbolic.inputs.midi import read_midi
from symbolic.outputs.midi import midi_bytes
from symbolic.score import Score, Track
from symbolic.serve.app import create_app
from symbolic.serve.config import ServeConfig
from symbolic.utils import atomic_write_text

POP909 = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "pop909" / "001" / "001.mid"


def sixteen_bar_melody() -> bytes:
    """The first 16 bars (4/4) of POP909 001's MELODY track as a one-track MIDI file."""
    song = read_midi(POP909)
    track = next(t for t in song.tracks if t.name.upper().startswith("MELODY"))
    first_beat = min(n.onset_ticks for n in track.notes) // (4 * song.ticks_per_beat) * 4 * song.ticks_per_beat
    end = first_beat + 16 * 4 * song.ticks_per_beat
    notes = [n._replace(onset_ticks=n.onset_ticks - first_beat) for n in track.notes
             if first_beat <= n.onset_ticks and n.offset_ticks <= end]
    return midi_bytes(Score(ticks_per_beat=song.ticks_per_beat, tempos=song.tempos[:1],
                            time_signatures=song.time_signatures[:1],
                            tracks=[Track(program=track.program, name="melody", notes=notes)]))


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Run:
    def __init__(self, client: TestClient, style: str) -> None:
        self.client, self.style = client, style

    def submit(self, data: bytes) -> tuple[str, float]:
        start = time.perf_counter()
        response = self.client.post("/api/jobs", files={"midi": ("in.mid", data, "audio/midi")},
                                    data={"settings": json.dumps({"job": "accompany", "style": self.style})})
        assert response.status_code == 202, response.text
        return response.json()["id"], start

    def first_sound(self, job_id: str, start: float) -> float:
        """Seconds from ``start`` until the job is done and its ``result.ogg`` fetched."""
        while True:
            job = self.client.get(f"/api/jobs/{job_id}").json()
            if job["state"] == "done":
                break
            assert job["state"] in ("submitted", "running"), job
            time.sleep(0.2)
        ogg = self.client.get(job["files"]["result.ogg"])
        assert ogg.status_code == 200 and ogg.content[:4] == b"OggS", ogg.status_code
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="default")
    parser.add_argument("--jobs", type=int, default=6)
    parser.add_argument("--song", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=Path("docs/results/serve-speed.md"))
    args = parser.parse_args()
    melody = sixteen_bar_melody()
    lines: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        config = ServeConfig(data_dir=Path(tmp), model=args.model, workers=2, max_queued_per_client=args.jobs + 2)
        with TestClient(create_app(config)) as client:
            styles = [s["name"] for s in client.get("/api/styles").json()["styles"]]
            run = Run(client, "pop" if "pop" in styles else "chorale")
            job_id, start = run.submit(melody)
            cold = run.first_sound(job_id, start)
            lines.append(f"- upload to first sound, 16-bar melody, cold server (worker start + model load): "
                         f"{cold:.1f} s")
            submitted = [run.submit(melody) for _ in range(args.jobs)]
            first_post = submitted[0][1]
            latencies = [0.0] * len(submitted)

            def follow(i: int) -> None:
                latencies[i] = run.first_sound(*submitted[i])

            threads = [threading.Thread(target=follow, args=(i,)) for i in range(len(submitted))]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            wall = time.perf_counter() - first_post
            lines.append(f"- jobs per minute, 2 workers, {args.jobs} 16-bar accompaniments submitted at once: "
                         f"{args.jobs / wall * 60:.1f} ({wall:.1f} s wall)")
            lines.append(f"- upload to first sound of each of those jobs (queueing included): "
                         f"{', '.join(f'{x:.1f}' for x in sorted(latencies))} s")
            if args.song is not None:
                job_id, start = run.submit(args.song.read_bytes())
                song = run.first_sound(job_id, start)
                bars = client.get(f"/api/jobs/{job_id}").json()["progress"]["bars_total"]
                lines.append(f"- upload to first sound, whole song `{args.song.name}` ({bars} bars), warm server: "
                             f"{song:.1f} s")
            pids = [p for p in os.listdir("/proc") if p.isdigit() and _is_worker(int(p))]
            rss = sorted(peak_rss_mb(int(p)) for p in pids)
            lines.append(f"- peak resident memory per worker process: {', '.join(f'{x:.0f}' for x in rss)} MB")
    header = [
        "# `symbolic serve`: upload to first sound, jobs per minute, memory per worker",
        "",
        f"Command: `OMP_NUM_THREADS=1 python benchmarks/serve_speed.py --model {args.model} --jobs {args.jobs}"
        + (f" --song {args.song.name}" if args.song else "") + "`",
        f"Date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC. Machine: {platform.machine()}, "
        f"{os.cpu_count()} CPU cores shared with other engineers' jobs and a training run at nice -10 "
        f"(load average {os.getloadavg()[0]:.1f} at the end), so the wall-clock figures are pessimistic.",
        "Input: the first 16 bars of POP909 001's melody, accompanied by the app's default parts "
        f"(style `{run.style}`), model `{args.model}`; each worker uses one thread.",
        "",
    ]
    text = "\n".join(header + lines) + "\n"
    print(text)
    atomic_write_text(args.out, text)


def _is_worker(pid: int) -> bool:
    """A worker process of this benchmark: a spawned child of ours running multiprocessing's spawn main."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    ppid = int(next(line.split()[1] for line in status.splitlines() if line.startswith("PPid:")))
    return ppid == os.getpid() and b"spawn_main" in cmdline


if __name__ == "__main__":
    main()
