"""The polyphonic music benchmark (Boulanger-Lewandowski et al. 2012): note-roll models, data and protocol.

Verbs: :func:`~symbolic.polyphonic.data.load_polyphonic` (the ``.mat`` sets),
:class:`~symbolic.polyphonic.roll.RollModel` (LSTM or GPT time axis, independent or MADE pitch head),
:func:`~symbolic.polyphonic.bench.train_roll_model`, :func:`~symbolic.polyphonic.bench.evaluate_rolls`,
:func:`~symbolic.polyphonic.bench.save_roll_model` / :func:`~symbolic.polyphonic.bench.load_roll_model`.

Apart from the token decoders; needs torch.
"""
