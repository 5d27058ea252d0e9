"""Bad files and folders are refused before any work, in one line, exit 2 (issue 13 items 9 and 10)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conftest import random_score
from symbolic import write_midi
from symbolic.cli import main
from symbolic.errors import PathError
from symbolic.paths import check_input_dir, check_input_file, check_output_dir, check_output_file
from symbolic.tokenization import EventTokenizer

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture
def files(tmp_path):
    good = tmp_path / "good.mid"
    write_midi(random_score(1, n_tracks=2, n_notes=30), good)
    folder = tmp_path / "folder"
    folder.mkdir()
    tokens = tmp_path / "good.tokens.json"
    assert main(["tokenize", str(good), "--out", str(tmp_path)]) == 0
    return {"good": good, "folder": folder, "file": good, "tokens": tokens, "empty": DATA / "no_notes.mid",
            "tmp": tmp_path}


@pytest.fixture
def no_model(monkeypatch):
    """Any attempt to load a model (the start of the work) fails the test."""
    import symbolic.models.pretrained

    def refuse(*args, **kwargs):
        raise AssertionError("work started before the paths were checked")

    monkeypatch.setattr(symbolic.models.pretrained, "load_decoder", refuse)


def _refused(capsys, argv, needle):
    code = main(argv)
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert code == 2, (argv, captured.err)
    assert len(lines) == 1 and "Traceback" not in captured.err, captured.err
    assert needle in lines[0], (needle, lines[0])
    assert "wrote" not in captured.out
    return lines[0]


def test_path_checks(tmp_path):
    (tmp_path / "f.mid").write_bytes(b"x")
    (tmp_path / "d").mkdir()
    assert check_input_file(tmp_path / "f.mid") == tmp_path / "f.mid"
    with pytest.raises(PathError, match=r"d: is a folder.*name a file inside it"):
        check_input_file(tmp_path / "d")
    with pytest.raises(PathError, match="no such input file"):
        check_input_file(tmp_path / "missing.mid")
    with pytest.raises(PathError, match="is a file, but the input folder must be a folder"):
        check_input_dir(tmp_path / "f.mid")
    with pytest.raises(PathError, match=r"is a folder, but the output file is one file; give a file name, e\.g\."):
        check_output_file(tmp_path / "d")
    with pytest.raises(PathError, match=r"f\.mid is a file, not a folder"):
        check_output_file(tmp_path / "f.mid" / "out.mid")
    with pytest.raises(PathError, match="is a file, but the output folder must be a folder"):
        check_output_dir(tmp_path / "f.mid")
    assert check_output_file(tmp_path / "new" / "deeper" / "out.mid")  # folders on the way can be made
    assert check_output_dir(tmp_path / "new" / "dir")
    assert not (tmp_path / "new").exists()  # a check makes nothing


@pytest.mark.parametrize("job, style_flag", [("convert", "--to"), ("accompany", "--style"),
                                             ("continue", "--style")])
def test_jobs_refuse_bad_paths_before_loading_the_model(job, style_flag, files, no_model, capsys):
    good, folder, tmp = str(files["good"]), str(files["folder"]), files["tmp"]
    _refused(capsys, [job, good, style_flag, "irish", "--out", folder], f"{folder}: is a folder")
    _refused(capsys, [job, folder, style_flag, "irish", "--out", str(tmp / "o.mid")], f"{folder}: is a folder")
    _refused(capsys, [job, good, style_flag, "irish", "--out", str(tmp / "o.mid"), "--wav", folder],
             f"{folder}: is a folder")
    _refused(capsys, [job, good, style_flag, "irish", "--out", f"{good}/o.mid"], "is a file, not a folder")
    _refused(capsys, [job, good, "--style-from", folder, "--out", str(tmp / "o.mid")], f"{folder}: is a folder")


def test_commands_refuse_bad_paths(files, no_model, capsys):
    good, folder, file_, tokens, tmp = (str(files[k]) for k in ("good", "folder", "file", "tokens", "tmp"))
    _refused(capsys, ["generate", "--out", folder], f"{folder}: is a folder")
    _refused(capsys, ["generate", "--prompt", folder, "--out", f"{tmp}/g.mid"], f"{folder}: is a folder")
    _refused(capsys, ["detokenize", tokens, "--out", folder], f"{folder}: is a folder")
    _refused(capsys, ["detokenize", folder, "--out", f"{tmp}/d.mid"], f"{folder}: is a folder")
    _refused(capsys, ["tokenize", good, "--out", file_], f"{file_}: is a file")
    _refused(capsys, ["render", good, good, "--out", file_], f"{file_}: is a file")
    Path(folder, "x.wav").mkdir()
    _refused(capsys, ["render", good, "--out", f"{folder}/x.wav"], "x.wav: is a folder")
    _refused(capsys, ["evaluate", good, "--reference", good, "--out", file_, "--no-audio"], f"{file_}: is a file")
    _refused(capsys, ["data", "build", "--midi-dir", folder, "--out", file_], f"{file_}: is a file")
    _refused(capsys, ["data", "build", "--midi-dir", file_, "--out", f"{tmp}/ds"], f"{file_}: is a file")
    _refused(capsys, ["train", "--data", folder, "--out", file_], f"{file_}: is a file")
    _refused(capsys, ["train", "--data", file_, "--out", f"{tmp}/ck"], f"{file_}: is a file")
    _refused(capsys, ["classifier", "train", "--data", folder, "--out", file_], f"{file_}: is a file")


def test_success_is_printed_only_after_the_file_is_written(files, monkeypatch, capsys):
    """convert and accompany used to print "wrote OUT" before writing it."""
    import symbolic.jobs.arrange
    import symbolic.outputs.midi
    import symbolic.models.pretrained
    from symbolic.jobs.arrange import JobResult
    from symbolic.inputs.midi import read_midi

    score = read_midi(files["good"])
    monkeypatch.setattr(symbolic.models.pretrained, "load_decoder", lambda name: (None, EventTokenizer(), {}))
    fake = JobResult(score=score, melody_track=0, kept_tracks=(0, 1), new_tracks=())
    monkeypatch.setattr(symbolic.jobs.arrange, "convert", lambda *a, **k: fake)
    monkeypatch.setattr(symbolic.jobs.arrange, "accompany", lambda *a, **k: fake)

    def disk_full(score, path):
        raise OSError(28, "No space left on device", str(path))

    monkeypatch.setattr(symbolic.outputs.midi, "write_midi", disk_full)
    out = str(files["tmp"] / "o.mid")
    for job, flag in (("convert", "--to"), ("accompany", "--style")):
        line = _refused(capsys, [job, str(files["good"]), flag, "irish", "--out", out], "no space left on device")
        assert line.startswith(f"symbolic {job}: error: {out}: ")


# --- empty and unknown input (item 10) ---------------------------------------------------------------------

def test_classify_refuses_an_empty_file_and_skips_it_in_a_batch(files, capsys):
    _refused(capsys, ["classify", str(files["empty"])], "no notes")
    assert main(["classify", str(files["empty"]), str(files["good"])]) == 1
    captured = capsys.readouterr()
    assert f"skipped: {files['empty']}: no notes" in captured.err
    assert f"{files['good']}: " in captured.out and "skipped 1" in captured.out
    assert str(files["empty"]) + ":" not in captured.out


def test_classify_an_empty_folder(files, capsys):
    _refused(capsys, ["classify", str(files["folder"])], "no MIDI files found")


def test_evaluate_leaves_empty_files_out_of_the_means(files, capsys):
    out = files["tmp"] / "report"
    assert main(["evaluate", str(files["good"]), str(files["empty"]), "--reference", str(files["good"]),
                 "--out", str(out), "--no-audio", "--no-progress"]) == 1  # a file was left out, as in every batch
    captured = capsys.readouterr().out
    assert "evaluated 1 generated" in captured and f"skipped {files['empty']}: no notes" in captured
    assert "1 files skipped (listed above)" in captured
    import json

    report = json.loads((out / "report.json").read_text())
    assert report["n_generated"] == 1 and report["skipped"][0]["file"] == str(files["empty"])
    assert all(v["generated"]["n"] <= 1 for v in report["symbolic"].values())


def test_render_warns_about_an_empty_file(files, capsys):
    pytest.importorskip("fluidsynth", reason="the FluidSynth library is not installed")
    assert main(["render", str(files["empty"]), "--out", str(files["tmp"] / "e.wav"), "--no-progress"]) == 0
    assert f"warning: {files['empty']} has no notes" in capsys.readouterr().err


def test_an_unknown_style_in_a_mix_is_an_error(files, monkeypatch, capsys):
    import symbolic.models.pretrained
    from symbolic.errors import StyleError
    from symbolic.styles.mix import resolve_style

    styles = EventTokenizer().vocab.styles
    for text in ("irish:0.5,pop:0.5", "irish,pop"):
        with pytest.raises(StyleError, match=r"unknown style 'pop'; this model knows: .*irish"):
            resolve_style(text, styles)
    assert resolve_style("a lively irish jig, fast", styles) == ({"irish": 1.0}, True)  # words stay words
    monkeypatch.setattr(symbolic.models.pretrained, "load_decoder", lambda name: (None, EventTokenizer(), {}))
    _refused(capsys, ["convert", str(files["good"]), "--to", "irish:0.5,pop:0.5", "--out",
                      str(files["tmp"] / "o.mid")], "unknown style 'pop'")
