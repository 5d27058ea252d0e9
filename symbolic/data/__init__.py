"""Style-labelled training data from the music21 corpus or a MIDI folder.

Verbs: :func:`~symbolic.data.corpus.list_music21_pieces`, :func:`~symbolic.data.corpus.list_midi_dir_pieces`,
:func:`~symbolic.data.corpus.load_piece`, :func:`~symbolic.data.build.build_dataset` (tokenized shards and
splits, streamed through a kill-safe :class:`~symbolic.data.piecelog.PieceLog`),
:func:`~symbolic.data.build.merge_shards` (the shards of a build over several machines as one data set),
:func:`~symbolic.data.dataset.load_split` and :class:`~symbolic.data.dataset.TokenDataset` (training windows).
"""
