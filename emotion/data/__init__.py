"""Input: the prepared corpus (manifest + cached features per clip), then tf.data batches.

Sits above corpus and features, below models (the order: emotion/__init__.py). The built-in corpus
lives here, not in corpus/: it writes per-frame video features on the features' frame grid
(features/video.py's VIDEO_FPS) and checks its video files with features/audio.py.

dataset.py          manifest + cached features per modality: the prepared corpus a run trains on
synthetic.py        the built-in synthetic audio-visual corpus (RAVDESS layout)
synthetic_video.py  its talking-face video files
example_clip.py     a voiceless synthetic clip: every logged model's input example
epoch_order.py      the training clips' order and augmentation seeds keyed by (seed, epoch)
pipeline.py         tf.data: variable-length sequences -> padded or bucketed batches (zero frames = mask)
augment.py          feature-space augmentation inside tf.data (audio only, or audio and video in sync)
"""
