"""The HTTP API against the real app, a real worker process and a tiny model."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from symbolic.inputs.midi import parse_midi_bytes
from symbolic.serve.app import create_app
from symbolic.serve.config import ServeConfig
from symbolic.serve.store import JobStore

from .conftest import wait


@pytest.fixture(scope="module")
def config(tmp_path_factory, tiny_model) -> ServeConfig:
    return ServeConfig(data_dir=tmp_path_factory.mktemp("serve"), model=tiny_model, workers=1,
                       max_upload_bytes=50_000, max_bars=40, max_queued_per_client=3, max_new_bars=400)


@pytest.fixture(scope="module")
def client(config):
    with TestClient(create_app(config)) as client:
        yield client


def submit(client, data: bytes, settings: dict, **files):
    return client.post("/api/jobs", files={"midi": ("tune.mid", data, "audio/midi"), **files},
                       data={"settings": json.dumps(settings)})


@pytest.mark.parametrize("settings", [
    {"job": "accompany", "style": "chorale", "voices": 2, "seed": 1},
    {"job": "convert", "style": "a lively irish jig", "parts": 2},
    {"job": "continue", "style": "irish:0.7,chorale:0.3", "bars": 2},
])
def test_each_job_runs_end_to_end(client, tune_bytes, settings):
    response = submit(client, tune_bytes, settings)
    assert response.status_code == 202, response.text
    job = wait(client, response.json()["id"])
    assert job["state"] == "done", job["message"]
    assert job["progress"]["bars_done"] == job["progress"]["bars_total"] > 0
    result = parse_midi_bytes(client.get(job["files"]["result.mid"]).content)
    tune = parse_midi_bytes(tune_bytes)
    assert result.tracks[0].notes[:16] == tune.tracks[0].notes  # the melody is kept note for note
    if settings["job"] == "accompany":
        assert len(result.tracks) == 3 and job["summary"]["new_tracks"] == [1, 2]
    if settings["job"] == "continue":
        # the untrained model may leave the new bars silent; the plan holds them all the same
        assert job["progress"]["bars_total"] >= 4 + 2 and job["message"].startswith("added 2 bars")
    report = client.get(job["files"]["report.json"]).json()
    assert report["message"] == job["message"]
    if settings["job"] == "convert":
        assert job["summary"]["style_found_from"] == "words" and "irish" in job["summary"]["style_described"]
    roll = client.get(job["files"]["roll.png"])
    assert roll.headers["content-type"] == "image/png" and roll.content[:8] == b"\x89PNG\r\n\x1a\n"
    for piece in ("original", "result"):  # the style classifier's reading of both, in the report and the job
        assert sum(report["style_reading"][piece].values()) == pytest.approx(1.0)
    assert job["summary"]["style_reading"] == report["style_reading"]
    legend = [entry["role"] for entry in report["roll_legend"]]
    assert legend[0] == ("kept" if settings["job"] == "continue" else "melody")
    assert ("new" in legend) == (report["new_notes"] > 0 or result.n_notes > tune.n_notes)
    if settings["job"] == "convert":
        assert "dropped" not in legend  # a bare melody: nothing of the input is left out
    ogg = client.get(job["files"]["result.ogg"])
    assert ogg.content[:4] == b"OggS" and len(ogg.content) > 1000
    wav = client.get(job["files"]["result.wav"])
    assert wav.content[:4] == b"RIFF"


def test_health_styles_and_inspect(client, tune_bytes):
    assert client.get("/api/health").json()["status"] == "ok"
    styles = client.get("/api/styles").json()
    assert "chorale" in [s["name"] for s in styles["styles"]] and "piano" in styles["instruments"]
    read = client.post("/api/inspect", files={"midi": ("x.mid", tune_bytes)}).json()
    assert read["tracks"][0]["notes"] == 16 and read["melody_track"] == 0
    assert read["bars"] == 4 and read["meter"] == "4/4" and read["tempo_qpm"] == 120.0
    assert client.get("/").status_code == 200


def test_bad_input_gets_the_right_status(client, config, tune_bytes, data_dir):
    bad = submit(client, b"<html>a web page, not music</html>", {"job": "accompany", "style": "chorale"})
    assert bad.status_code == 400 and "not a MIDI file" in bad.json()["error"]
    empty = submit(client, (data_dir / "no_notes.mid").read_bytes(), {"job": "accompany", "style": "chorale"})
    assert empty.status_code == 400 and "has no notes" in empty.json()["error"]
    big = submit(client, b"MThd" + bytes(config.max_upload_bytes), {"job": "accompany", "style": "chorale"})
    assert big.status_code == 413 and "upload limit" in big.json()["error"]
    from symbolic.outputs.midi import midi_bytes

    from .conftest import melody

    long = submit(client, midi_bytes(melody(bars=50)), {"job": "accompany", "style": "chorale"})
    assert long.status_code == 413 and "50 bars" in long.json()["error"]
    for settings, words in [({"job": "sing", "style": "chorale"}, "not one of"),
                            ({"job": "accompany", "style": "chorale", "temperature": -1}, "temperature"),
                            ({"job": "accompany", "style": "xyzzy quux"}, "points to a style"),
                            ({"job": "accompany", "style": "chorale", "colour": 1}, "unknown setting"),
                            ({"job": "accompany", "style": "chorale", "tracks": "kazoo"}, "kazoo"),
                            ({"job": "accompany", "style": "chorale", "melody_track": 5}, "does not exist"),
                            ({"job": "continue", "style": "chorale", "bars": 1000}, "at most"),
                            ({"job": "accompany", "style": "chorale", "chords": "C | Hm7"}, "bar 2: 'Hm7'"),
                            ({"job": "continue", "style": "chorale", "chords": "C"}, "continue takes none")]:
        response = submit(client, tune_bytes, settings)
        assert response.status_code == 422 and words in response.json()["error"], (settings, response.text)
    assert client.post("/api/jobs", files={"midi": ("t.mid", tune_bytes)},
                       data={"settings": "{not json"}).status_code == 422
    assert client.get("/api/jobs/" + "0" * 32).status_code == 404
    assert client.get("/api/jobs/../../etc/passwd").status_code == 404
    done = submit(client, tune_bytes, {"job": "accompany", "style": "chorale", "voices": 1}).json()["id"]
    assert wait(client, done)["state"] == "done"
    assert client.get(f"/api/jobs/{done}/input.mid").status_code == 404  # only the result files are served
    assert client.get(f"/api/jobs/{done}/..%2Fjobs.sqlite").status_code == 404


def test_too_many_jobs_per_client_and_cancel(client, config, tune_bytes):
    ids = []
    for _ in range(config.max_queued_per_client):
        response = submit(client, tune_bytes, {"job": "continue", "style": "chorale", "bars": 400})
        assert response.status_code == 202
        ids.append(response.json()["id"])
    refused = submit(client, tune_bytes, {"job": "continue", "style": "chorale", "bars": 2})
    assert refused.status_code == 429 and "unfinished jobs" in refused.json()["error"]
    for job_id in ids:
        assert client.delete(f"/api/jobs/{job_id}").status_code == 200
    for job_id in ids:
        job = wait(client, job_id)
        assert job["state"] == "cancelled"
        assert client.get(f"/api/jobs/{job_id}/result.mid").status_code == 404
    assert client.delete(f"/api/jobs/{ids[0]}").json()["state"] == "removed"
    assert client.get(f"/api/jobs/{ids[0]}").status_code == 404


def test_a_restart_fails_the_interrupted_job_and_keeps_finished_ones(tmp_path, tiny_model, tune_bytes):
    config = ServeConfig(data_dir=tmp_path, model=tiny_model, workers=1, max_new_bars=64)
    with TestClient(create_app(config)) as client:
        finished = submit(client, tune_bytes, {"job": "accompany", "style": "chorale", "voices": 1}).json()["id"]
        assert wait(client, finished)["state"] == "done"
        running = submit(client, tune_bytes, {"job": "continue", "style": "chorale", "bars": 64}).json()["id"]
        wait(client, running, states=("running",))
    # the app stopped: its worker was killed in the middle of the job
    with TestClient(create_app(config)) as client:
        job = client.get(f"/api/jobs/{running}").json()
        assert job["state"] == "failed" and "server stopped" in job["message"]
        assert client.get(f"/api/jobs/{finished}/result.mid").status_code == 200
        assert not (tmp_path / "jobs" / running / "result.mid").exists()


def test_results_expire(tmp_path):
    store = JobStore(tmp_path)
    old = store.create("client", {"job": "accompany"})
    store.finish(old, "done", "ok")
    fresh = store.create("client", {"job": "accompany"})
    assert store.expire(ttl_seconds=60, now=__import__("time").time() + 120) == 1
    assert store.get(old) is None and not store.folder(old).exists()
    assert store.get(fresh)["state"] == "submitted"  # unfinished jobs are never expired


def test_a_running_job_stops_at_its_next_bar_when_cancelled(client, tune_bytes):
    # 400 bars: 60 were sometimes all written before the cancel arrived on a loaded machine
    job_id = submit(client, tune_bytes, {"job": "continue", "style": "chorale", "bars": 400}).json()["id"]
    running = wait(client, job_id, states=("running",))
    assert client.delete(f"/api/jobs/{job_id}").status_code == 200
    job = wait(client, job_id)
    assert job["state"] == "cancelled" and job["message"] == "cancelled", job
    assert running["started"] is not None and job["progress"]["bars_done"] < job["progress"]["bars_total"]


@pytest.mark.parametrize("form, found_from, words", [
    ({"style": "chorale"}, "name", "style chorale 100%"),
    ({"style": "irish:0.7,chorale:0.3"}, "name", "style irish 70%, chorale 30%"),
    ({"style": "a lively irish jig"}, "words", "style from the description 'a lively irish jig': irish 100%"),
])
def test_the_style_a_job_would_use_is_said_in_words(client, form, found_from, words):
    response = client.post("/api/style", data=form)
    assert response.status_code == 200, response.text
    assert response.json()["found_from"] == found_from and response.json()["described"] == words


def test_the_style_of_a_reference_piece_and_bad_styles(client, tune_bytes):
    from symbolic.jobs.style_input import style_from_example

    response = client.post("/api/style", files={"reference": ("ref.mid", tune_bytes, "audio/midi")}).json()
    assert response["found_from"] == "example" and response["described"].startswith("style from the reference piece: ")
    styles = tuple(s["name"] for s in client.get("/api/styles").json()["styles"])
    assert response["style"] == pytest.approx(style_from_example(parse_midi_bytes(tune_bytes), ("none",) + styles))
    unknown = client.post("/api/style", data={"style": "polka:0.5,irish:0.5"})
    assert unknown.status_code == 422 and "unknown style 'polka'" in unknown.json()["error"]
    assert client.post("/api/style").status_code == 422  # neither a style nor a piece
    both = client.post("/api/style", data={"style": "irish"}, files={"reference": ("r.mid", tune_bytes)})
    assert both.status_code == 422 and "not both" in both.json()["error"]
    bad = client.post("/api/style", files={"reference": ("r.mid", b"not music")})
    assert bad.status_code == 400 and "the reference piece" in bad.json()["error"]


def test_musicxml_is_read_by_its_content_and_worked_on_as_midi(client, config, data_dir):
    waltz = (data_dir / "waltz.musicxml").read_bytes()
    read = client.post("/api/inspect", files={"midi": ("waltz.bin", waltz)}).json()  # the name says nothing
    assert read["meter"] == "3/4" and read["tempo_qpm"] == 90.0 and read["tracks"][0]["notes"] == 6
    assert read["tracks"][0]["name"] == "Flute" and read["bars"] == 3
    response = submit(client, waltz, {"job": "accompany", "style": "chorale", "voices": 1})
    assert response.status_code == 202, response.text
    job = wait(client, response.json()["id"])
    assert job["state"] == "done", job["message"]
    assert (config.data_dir / "jobs" / job["id"] / "input.mid").read_bytes()[:4] == b"MThd"
    result = parse_midi_bytes(client.get(job["files"]["result.mid"]).content)
    assert [n.pitch for n in result.tracks[0].notes] == [67, 71, 74, 78, 76, 74]
    cut = waltz[: len(waltz) // 2]
    bad = submit(client, cut, {"job": "accompany", "style": "chorale"})
    assert bad.status_code == 400 and "music21 cannot read this MusicXML" in bad.json()["error"]


def test_api_docs_are_served_by_us_and_unknown_routes_answer_json(client):
    docs = client.get("/docs")
    assert docs.status_code == 200 and "/docs-assets/swagger-ui-bundle.js" in docs.text
    assert "cdn" not in docs.text.lower() and "https://" not in docs.text  # works on an offline machine
    assert client.get("/docs-assets/swagger-ui-bundle.js").status_code == 200
    assert client.get("/docs-assets/swagger-ui.css").status_code == 200
    missing = client.get("/api/nothing")
    assert missing.status_code == 404 and missing.json() == {"error": "no such page or API route: /api/nothing"}
    wrong = client.get("/api/jobs")
    assert wrong.status_code == 405 and wrong.json() == {"error": "GET is not allowed on /api/jobs"}


def test_accompany_can_replace_a_bands_accompaniment(client):
    from symbolic.outputs.midi import midi_bytes
    from symbolic.score import Note, Score, Track

    bar = 1920
    tune = Track(program=73, name="Melody", notes=[Note(k * 480, 480, 72 + (k % 5), 90) for k in range(16)])
    chords = Track(program=24, name="Guitar", notes=[Note(b * bar + k * 480, 480, p, 70) for b in range(4)
                                                     for k in range(4) for p in (55, 60, 64)])
    bass = Track(program=33, name="Bass", notes=[Note(b * bar + k * 960, 960, 36 + 2 * b, 80) for b in range(4)
                                                 for k in range(2)])
    song = midi_bytes(Score(tracks=[tune, chords, bass]))
    refused = submit(client, song, {"job": "accompany", "style": "chorale", "keep": "bass,drums"})
    assert refused.status_code == 422 and "replace" in refused.json()["error"]
    response = submit(client, song, {"job": "accompany", "style": "chorale", "replace_accompaniment": True,
                                     "keep": "bass,drums"})
    assert response.status_code == 202, response.text
    job = wait(client, response.json()["id"])
    assert job["state"] == "done", job["message"]
    result = parse_midi_bytes(client.get(job["files"]["result.mid"]).content)
    kept = [track.notes for track in result.tracks]
    assert tune.notes in kept and bass.notes in kept  # the melody and the bass as they were
    assert chords.notes not in kept  # the guitar chords were replaced, not kept under the new parts


def test_a_lead_sheets_chord_symbols_reach_the_job(client):
    from music21 import harmony, meter, musicxml, note, stream

    sheet = stream.Part()
    sheet.append(meter.TimeSignature("4/4"))
    for bar, (symbol, pitch) in enumerate([("C", "E4"), ("Am", "C5"), ("F", "A4"), ("G7", "B4")]):
        sheet.insert(4.0 * bar, harmony.ChordSymbol(symbol))
        sheet.insert(4.0 * bar, note.Note(pitch, quarterLength=4.0))
    data = musicxml.m21ToXml.GeneralObjectExporter(sheet).parse()
    job = wait(client, submit(client, data, {"job": "accompany", "style": "chorale", "voices": 1}).json()["id"])
    assert job["state"] == "done", job["message"]
    assert "chords: the 4 chords given with the input" in job["summary"]["decisions"]
    charted = wait(client, submit(client, data, {"job": "accompany", "style": "chorale", "voices": 1,
                                                 "chords": "C | F"}).json()["id"])  # a chart wins over the sheet
    assert "chords: the 2 chords given with the input, to bar 2 of 4 (no chord rule after it)" in \
        charted["summary"]["decisions"]
