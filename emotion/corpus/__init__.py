"""What exists before any feature: corpus folders, their names and labels, manifests, splits, folds.

Imports only config and errors (the order: emotion/__init__.py): features, data and everything above
read corpora, never the other way round.

names.py            RAVDESS / CREMA-D file-name parsing: a clip's labels live in its name
public_names.py     EmoDB / SAVEE / TESS file-name parsing
labels.py           the shared emotion label set and each corpus's mapping onto it
walk.py             a corpus folder's files, symlinks followed, loops detected
manifest.py         corpus folder -> one row per recording (labels, actor, files), with a skip report
manifest_file.py    manifest=FILE: the same rows from a CSV / JSONL listing the clips (EmoBox's JSONL as it is)
splits.py           speaker-independent train / val / test splits and k folds by actor
published_folds.py  EmoBox's published folds over a manifest
dev_paths.py        where ../shared/data sits beside a checkout (tests and benchmarks)
voices.py           synthetic voices of training clips (Praat PSOLA) for the global head: audio files from audio files
"""
