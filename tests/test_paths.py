"""symbolic/paths.py: an output place that cannot take a file is refused before any work, even for root."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from conftest import random_score
from symbolic import write_midi
from symbolic.cli import main
from symbolic.errors import PathError
from symbolic.paths import check_output_dir, check_output_file

# /proc refuses new files to everyone, root included, while its permission bits say it is writable to root.
PROC = Path("/proc")
needs_proc = pytest.mark.skipif(not PROC.is_dir(), reason="needs Linux /proc")


@needs_proc
def test_a_place_that_refuses_new_files_is_refused():
    with pytest.raises(PathError, match=r"/proc/out\.mid: cannot write the output file there because /proc is not "
                                        r"writable"):
        check_output_file(PROC / "out.mid")
    with pytest.raises(PathError, match="/proc/new: cannot write the output folder there"):
        check_output_dir(PROC / "new")


def test_the_check_leaves_nothing_behind(tmp_path):
    assert check_output_file(tmp_path / "out.mid") == tmp_path / "out.mid"
    assert check_output_dir(tmp_path) == tmp_path
    assert os.listdir(tmp_path) == []


def test_the_example_name_has_the_file_type_asked_for(tmp_path):
    with pytest.raises(PathError, match=r"e\.g\. .*out\.wav$"):
        check_output_file(tmp_path, "WAV file", ".wav")
    with pytest.raises(PathError, match=r"e\.g\. .*out\.mid$"):
        check_output_file(tmp_path)


@needs_proc
def test_a_job_refuses_an_output_under_proc_before_loading_the_model(tmp_path, monkeypatch, capsys):
    import symbolic.models.pretrained

    def refuse(*args, **kwargs):
        raise AssertionError("work started before the paths were checked")

    monkeypatch.setattr(symbolic.models.pretrained, "load_decoder", refuse)
    good = tmp_path / "in.mid"
    write_midi(random_score(1, n_tracks=1, n_notes=20), good)
    assert main(["convert", str(good), "--to", "irish", "--out", "/proc/o.mid"]) == 2
    assert "/proc/o.mid: cannot write the output file there" in capsys.readouterr().err
    assert main(["convert", str(good), "--to", "irish", "--out", str(tmp_path / "o.mid"), "--wav",
                 str(tmp_path)]) == 2
    assert "out.wav" in capsys.readouterr().err
