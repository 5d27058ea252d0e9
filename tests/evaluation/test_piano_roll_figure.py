"""Piano rolls coloured by what a job did with each note: the colours are in the picture, with a legend."""

from __future__ import annotations

import numpy as np

from symbolic.evaluation.figures import ROLE_COLOURS, role_legend, write_piano_rolls
from symbolic.score import Note, Score, Track


def _pixels_of(image: np.ndarray, hex_colour: str) -> int:
    rgb = np.array([int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)]) / 255.0
    return int(np.all(np.abs(image[..., :3] - rgb) < 0.02, axis=-1).sum())


def test_roles_draw_each_role_in_its_colour(tmp_path):
    from matplotlib.image import imread

    original = Score(tracks=[Track(notes=[Note(480 * k, 480, 60 + k, 80) for k in range(8)])])
    result = Score(tracks=[Track(notes=list(original.tracks[0].notes)),
                           Track(notes=[Note(480 * k, 960, 48, 80) for k in range(0, 8, 2)])])
    roles = [[["melody"] * 8], [["melody"] * 8, ["new"] * 4]]
    image = imread(write_piano_rolls(tmp_path / "roll.png", [("original", original), ("result", result)], roles))
    melody, new = ROLE_COLOURS["melody"][0], ROLE_COLOURS["new"][0]
    assert _pixels_of(image, melody) > 200 and _pixels_of(image, new) > 100
    assert _pixels_of(image, ROLE_COLOURS["kept"][0]) == 0  # no kept part, no legend entry for it
    plain = imread(write_piano_rolls(tmp_path / "plain.png", [("original", original), ("result", result)]))
    assert _pixels_of(plain, melody) == _pixels_of(plain, new) == 0  # without roles: one colour per track


def test_role_legend_lists_the_roles_present_in_the_tables_order():
    assert [role for role, _, _ in role_legend([["new", "melody"], ["dropped"]])] == ["melody", "new", "dropped"]
    assert role_legend([]) == []
