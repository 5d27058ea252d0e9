"""Rendering with FluidSynth, WAV files, SoundFont resolution, and features against librosa."""

from __future__ import annotations

import shutil
import subprocess
import sys

import numpy as np
import pytest

from symbolic import Note, Score, TempoChange, Track, read_midi
from symbolic.errors import DataError
from symbolic.resources import pretty_midi_soundfont, resolve_soundfont

fluidsynth = pytest.importorskip("fluidsynth", reason="the FluidSynth library is not installed")

from symbolic.audio import RenderConfig, Renderer, read_wav, write_wav  # noqa: E402
from symbolic.audio import features as F  # noqa: E402

SR = 22050


@pytest.fixture(scope="module")
def renderer():
    with Renderer(pretty_midi_soundfont(), RenderConfig(sample_rate=SR, tail_seconds=0.5)) as r:
        yield r


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x)))) if x.size else 0.0


def _envelope_similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine similarity of the frame energies (FluidSynth is not sample-exact from render to render)."""
    ea, eb = F.rms(F.to_mono(a)).numpy(), F.rms(F.to_mono(b)).numpy()
    return float(ea @ eb / np.linalg.norm(ea) / np.linalg.norm(eb))


def test_multitrack_with_drums(renderer, data_dir):
    score = read_midi(data_dir / "drums_channel10.mid")
    audio = renderer.render(score)
    assert audio.dtype == np.float32 and audio.ndim == 2 and audio.shape[1] == 2
    expected = score.duration_seconds + 0.5
    assert abs(len(audio) / SR - expected) < 0.01
    assert _rms(audio) > 0.01 and abs(np.abs(audio).max() - 0.9) < 1e-6  # normalised to the target peak
    stems = renderer.render_stems(score)
    assert len(stems) == 2 and all(_rms(s) > 1e-3 for s in stems)  # the drum stem sounds
    assert _envelope_similarity(stems[0] + stems[1], audio) > 0.99  # stems keep the mix's balance


def test_tempo_map_is_honoured(renderer):
    notes = [Note(i * 480, 480, 60 + i, 90) for i in range(4)]
    slow = Score(tracks=[Track(notes=list(notes))], tempos=[TempoChange(0, 1_000_000)])
    fast = Score(tracks=[Track(notes=list(notes))], tempos=[TempoChange(0, 500_000)])
    assert abs(len(renderer.render(slow)) / SR - 4.5) < 0.01
    assert abs(len(renderer.render(fast)) / SR - 2.5) < 0.01


def test_more_tracks_than_channels(renderer, data_dir):
    score = read_midi(data_dir / "many_tracks.mid")
    stems = renderer.render_stems(score)
    assert len(stems) == 25 and all(_rms(s) > 1e-4 for s in stems)  # 20 MIDI tracks, 5 split by a shared channel


def test_empty_score_is_silence(renderer):
    audio = renderer.render(Score())
    assert audio.shape == (int(0.5 * SR), 2) and renderer.last_peak < 1e-4 and np.abs(audio).max() < 1e-4


def test_renders_are_independent(renderer, data_dir):
    score = read_midi(data_dir / "running_status.mid")
    first = renderer.render(score)
    renderer.render(read_midi(data_dir / "drums_channel10.mid"))
    again = renderer.render(score)
    assert again.shape == first.shape and _envelope_similarity(again, first) > 0.999  # nothing rings over


@pytest.mark.skipif(shutil.which("fluidsynth") is None, reason="the fluidsynth command-line program is missing")
def test_same_spectrum_as_the_fluidsynth_cli(renderer, data_dir, tmp_path):
    midi = data_dir / "drums_channel10.mid"
    wav = tmp_path / "cli.wav"
    subprocess.run(["fluidsynth", "-ni", "-g", "0.2", "-r", str(SR), "-F", str(wav), str(pretty_midi_soundfont()),
                    str(midi)], check=True, capture_output=True, timeout=120)
    cli, rate = read_wav(wav)
    ours = renderer.render(read_midi(midi))
    assert rate == SR
    spectrum = lambda x: F.stft_magnitude(F.to_mono(x)).mean(dim=-1).numpy()  # noqa: E731
    a, b = spectrum(ours), spectrum(cli)
    cosine = float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))
    assert cosine > 0.98, cosine


def test_wav_round_trip(tmp_path):
    audio = (np.sin(np.linspace(0, 200, 4000)) * 0.5).astype(np.float32)[:, None].repeat(2, axis=1)
    write_wav(tmp_path / "a.wav", audio, SR)
    back, rate = read_wav(tmp_path / "a.wav")
    assert rate == SR and back.shape == audio.shape and np.abs(back - audio).max() < 1e-4
    write_wav(tmp_path / "f.wav", audio, SR, float32=True)
    back, _ = read_wav(tmp_path / "f.wav")
    assert np.array_equal(back, audio)


def test_soundfont_resolution(tmp_path, monkeypatch):
    monkeypatch.delenv("SYMBOLIC_SOUNDFONT", raising=False)
    assert resolve_soundfont().is_file()
    assert resolve_soundfont(pretty_midi_soundfont()) == pretty_midi_soundfont()
    monkeypatch.setenv("SYMBOLIC_SOUNDFONT", str(pretty_midi_soundfont()))
    assert resolve_soundfont() == pretty_midi_soundfont()
    monkeypatch.setenv("SYMBOLIC_SOUNDFONT", str(tmp_path / "missing.sf2"))
    with pytest.raises(DataError, match="SYMBOLIC_SOUNDFONT"):
        resolve_soundfont()
    bogus = tmp_path / "bogus.sf2"
    bogus.write_bytes(b"not a soundfont at all")
    with pytest.raises(DataError, match="not a SoundFont"):
        resolve_soundfont(bogus)


def test_import_errors_teach(monkeypatch):
    import types

    from symbolic.audio.render import import_fluidsynth

    monkeypatch.setitem(sys.modules, "fluidsynth", types.ModuleType("fluidsynth"))  # the wrong PyPI package
    with pytest.raises(ImportError, match="pip uninstall fluidsynth"):
        import_fluidsynth()
    monkeypatch.setitem(sys.modules, "fluidsynth", None)  # import fails, as without the library
    with pytest.raises(ImportError, match="apt-get install fluidsynth"):
        import_fluidsynth()


def test_import_symbolic_without_fluidsynth():
    code = ("import sys; sys.modules['fluidsynth'] = None\n"
            "import symbolic, symbolic.audio\n"
            "try:\n    symbolic.audio.Renderer()\nexcept ImportError as e:\n    print('ImportError:', e)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "apt-get install fluidsynth" in result.stdout


@pytest.fixture(scope="module")
def rendered(renderer, data_dir):
    return F.to_mono(renderer.render(read_midi(data_dir / "drums_channel10.mid"))).numpy()


def test_features_match_librosa(rendered):
    librosa = pytest.importorskip("librosa")
    y = rendered
    checks = [
        (F.stft_magnitude(y, 1024, 256), np.abs(librosa.stft(y, n_fft=1024, hop_length=256))),
        (F.melspectrogram(y, SR, 2048, 512, 64), librosa.feature.melspectrogram(y=y, sr=SR, n_mels=64)),
        (F.log_mel(y, SR), librosa.power_to_db(librosa.feature.melspectrogram(y=y, sr=SR))),
        (F.mfcc(y, SR, n_mfcc=13), librosa.feature.mfcc(y=y, sr=SR, n_mfcc=13)),
        (F.spectral_centroid(y, SR), librosa.feature.spectral_centroid(y=y, sr=SR)[0]),
        (F.spectral_flatness(y), librosa.feature.spectral_flatness(y=y)[0]),
        (F.rms(y), librosa.feature.rms(y=y)[0]),
    ]
    for ours, theirs in checks:
        ours = ours.numpy()
        assert ours.shape == theirs.shape
        assert np.abs(ours - theirs).max() <= 1e-4 * max(1.0, np.abs(theirs).max())


def test_features_batch_and_empty(rendered):
    batch = np.stack([rendered, rendered[::-1].copy()])
    together = F.mfcc(batch, SR)
    assert together.shape[0] == 2
    assert np.allclose(together[1].numpy(), F.mfcc(batch[1], SR).numpy(), atol=1e-3)
    assert F.stft_magnitude(np.zeros(0, np.float32)).shape == (1025, 0)
    assert F.log_mel(np.zeros(0, np.float32), SR).shape == (128, 0)


def _db(x: np.ndarray) -> float:
    return 20 * np.log10(max(_rms(x), 1e-12))


@pytest.fixture(scope="module")
def raw_renderer():
    """Unnormalised renders, so levels can be compared between renders."""
    with Renderer(pretty_midi_soundfont(), RenderConfig(sample_rate=SR, tail_seconds=0.5, normalize=False)) as r:
        yield r


def test_sustain_pedal_is_audible(raw_renderer, data_dir):
    """Issue 13.3: the pedal holds three short notes to two seconds (they died at once before)."""
    score = read_midi(data_dir / "sustain_pedal.mid")
    held = raw_renderer.render(score)
    score.tracks[0].controls = [c for c in score.tracks[0].controls if c.number != 64]
    dry = raw_renderer.render(score)
    window = slice(int(1.2 * SR), int(1.8 * SR))  # after the notes' releases, before the pedal lifts
    assert _db(held[window]) > -65 and _db(held[window]) - _db(dry[window]) > 20  # measured -57 against -98 dB


def test_program_from_another_track_is_rendered(raw_renderer, data_dir):
    """Issue 13.1: the violin of track 0's program change, not a piano."""
    score = read_midi(data_dir / "program_in_other_track.mid")
    violin = Score(tracks=[Track(program=40, notes=list(score.tracks[0].notes))], tempos=list(score.tempos))
    piano = Score(tracks=[Track(program=0, notes=list(score.tracks[0].notes))], tempos=list(score.tempos))
    audio = raw_renderer.render(score)
    assert _envelope_similarity(audio, raw_renderer.render(violin)) > 0.99
    assert _envelope_similarity(audio, raw_renderer.render(piano)) < 0.95


def test_trailing_rest_is_rendered(raw_renderer, data_dir):
    """Issue 13.4: End of Track at four seconds: four seconds plus the tail, not two."""
    audio = raw_renderer.render(read_midi(data_dir / "trailing_rest.mid"))
    assert abs(len(audio) / SR - 4.5) < 0.01


def test_overlapping_unisons_sound_as_written(raw_renderer, data_dir):
    """Issue 13.6: the second C4 (2.5-4 s) sounds to four seconds though the first one stops at three."""
    score = read_midi(data_dir / "overlapping_unison.mid")
    both = raw_renderer.render(score)
    alone = raw_renderer.render(Score(tracks=[Track(notes=score.tracks[0].notes[1:])], tempos=list(score.tempos)))
    window = slice(int(3.3 * SR), int(3.9 * SR))
    assert abs(_db(both[window]) - _db(alone[window])) < 3


def test_over_long_score_is_refused_before_allocating(raw_renderer, data_dir):
    """Issue 13.5: a note at tick 2^27 would need about 49 GB; it is refused at once."""
    from symbolic.errors import ScoreError

    with pytest.raises(ScoreError, match="max_seconds=3600.*corrupt file with huge delta times"):
        raw_renderer.render(read_midi(data_dir / "note_at_2_27.mid"))
