"""Input: corpus folders to manifests, splits and prepared clips, then tf.data batches.

names.py            RAVDESS / CREMA-D file-name parsing: a clip's labels live in its name
labels.py           the shared emotion label set and each corpus's mapping onto it
walk.py             a corpus folder's files, symlinks followed, loops detected
manifest.py         corpus folder -> one row per recording (labels, actor, files), with a skip report
synthetic.py        the built-in synthetic audio-visual corpus (RAVDESS layout)
synthetic_video.py  its talking-face video files
example_clip.py     a voiceless synthetic clip: every logged model's input example
splits.py           speaker-independent train / val / test splits and k folds by actor
published_folds.py  EmoBox's published folds over a manifest
dev_paths.py        where ../shared/data sits beside a checkout (tests and benchmarks)
dataset.py          manifest + cached features per modality: the prepared corpus a run trains on
voices.py           synthetic voices of training clips (Praat PSOLA) for the global head
pipeline.py         tf.data: variable-length sequences -> padded or bucketed batches (zero frames = mask)
augment.py          feature-space augmentation inside tf.data (audio only, or audio and video in sync)
"""
