"""wav2vec 2.0 frame embeddings (Hugging Face transformers `Wav2Vec2Model`) for the `wav2vec_attention` variant.

torch and transformers are an optional extra: they are imported inside the functions, so the rest of the
package (and its tests) never pays their import time or needs them installed. Weights come from a local
folder written by `save_pretrained` (the offline case: cloud workers, CI) or a hub name such as
`facebook/wav2vec2-base` (downloaded once into the Hugging Face cache).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from emotion.errors import BadInputError, ConfigError
from emotion.features.audio import load_audio

WAV2VEC_SAMPLE_RATE = 16_000  # every released wav2vec 2.0 checkpoint was pre-trained on 16 kHz audio
MISSING_EXTRA = "wav2vec features need the optional extra: pip install -e '.[wav2vec]'"
PREPROCESSOR_FILE = "preprocessor_config.json"  # what Wav2Vec2FeatureExtractor.save_pretrained writes


def _import_hf():
    """(torch, transformers) or a one-line ConfigError naming the extra to install."""
    try:
        import torch
        import transformers
    except ImportError:
        raise ConfigError(MISSING_EXTRA) from None
    return torch, transformers


def _one_line(err: BaseException) -> str:
    text = " ".join(str(err).split()) or type(err).__name__
    return text if len(text) <= 300 else text[:297] + "..."  # hub errors can be paragraphs long


def _looks_like_path(source: str) -> bool:
    """Hub names are `name` or `org/name`; anything else (./x, /x, ~/x, a/b/c) was meant as a folder."""
    return source.startswith((".", "/", "~", "\\")) or source.count("/") > 1 or "\\" in source


def default_extractor():
    """What wav2vec2-base ships: 16 kHz, each clip normalised to zero mean and unit variance."""
    _, transformers = _import_hf()
    return transformers.Wav2Vec2FeatureExtractor(
        feature_size=1,
        sampling_rate=WAV2VEC_SAMPLE_RATE,
        padding_value=0.0,
        do_normalize=True,
        return_attention_mask=False,  # one clip per call: no padding, so no mask to pass
    )


def load_wav2vec(source: str, device: str = "cpu"):
    """(model in eval mode on `device`, feature extractor) from a local folder or a hub model name.

    The extractor comes from the same source when it has one (`preprocessor_config.json`); a folder holding
    only config.json + weights gets `default_extractor()`.
    """
    _, transformers = _import_hf()
    folder = Path(source).expanduser()
    if folder.is_dir():
        if not (folder / "config.json").is_file():
            raise BadInputError(folder, "not a wav2vec model folder (no config.json; expected save_pretrained output)")
        try:
            model = transformers.Wav2Vec2Model.from_pretrained(str(folder))
        except (OSError, ValueError) as err:  # missing/corrupt weights, or a config of another model type
            raise BadInputError(folder, f"cannot load wav2vec weights ({_one_line(err)})") from None
        has_extractor = (folder / PREPROCESSOR_FILE).is_file()
        extractor = (
            transformers.Wav2Vec2FeatureExtractor.from_pretrained(str(folder)) if has_extractor else default_extractor()
        )
    elif folder.exists() or _looks_like_path(source):
        raise BadInputError(folder, "wav2vec model folder not found" if not folder.exists() else "not a folder")
    else:
        try:
            model = transformers.Wav2Vec2Model.from_pretrained(source)
        except Exception as err:  # OSError, HFValidationError (ValueError), HTTP errors: all "cannot fetch"
            raise ConfigError(
                f"wav2vec source {source!r}: not a local folder and not loadable from the Hugging Face hub "
                f"({_one_line(err)}); weights must be a local path when offline"
            ) from None
        try:
            extractor = transformers.Wav2Vec2FeatureExtractor.from_pretrained(source)
        except OSError:  # a repository with weights but no preprocessor config
            extractor = default_extractor()
    if extractor.sampling_rate != WAV2VEC_SAMPLE_RATE:
        rate = extractor.sampling_rate
        raise ConfigError(f"wav2vec source {source!r}: feature extractor expects {rate} Hz, not 16 kHz")
    model.to(device)
    model.eval()  # no dropout, no SpecAugment time masking: the same clip always gives the same frames
    return model, extractor


def n_layers(model) -> int:
    """Hidden states `output_hidden_states=True` returns: the encoder input plus one per transformer layer."""
    return model.config.num_hidden_layers + 1


def check_layer(model, layer: int) -> int:
    """`layer` as a non-negative index into the hidden states, or ConfigError with the valid range."""
    count = n_layers(model)
    if isinstance(layer, bool) or not isinstance(layer, (int, np.integer)) or not -count <= layer < count:
        raise ConfigError(
            f"parameter wav2vec_layer={layer!r}: expected an integer in [{-count}, {count - 1}] for a model with "
            f"{count - 1} transformer layers (0 = encoder input, -1 = last layer)"
        )
    return int(layer) % count


def frame_stride(model) -> int:
    """Input samples per output frame: the product of the CNN strides (320 for released models: 20 ms)."""
    return int(np.prod(model.config.conv_stride))


def n_frames(model, n_samples: int) -> int:
    """Frames the CNN feature encoder gives for `n_samples` (no padding; <= 0 means too short)."""
    length = n_samples
    for kernel, stride in zip(model.config.conv_kernel, model.config.conv_stride):
        length = (length - kernel) // stride + 1
        if length <= 0:
            return 0
    return length


def wav2vec_embeddings(model, extractor, signal_16k: np.ndarray, layer: int) -> np.ndarray:
    """Frame embeddings of one 16 kHz mono clip from hidden state `layer`.  # (N,) -> (T, H) float32

    layer 0 is the encoder input (CNN features -> feature projection -> positional convolution), 1..L the
    transformer layers' outputs, -1 the last. T = n_frames(model, N), ~50 frames per second of audio.
    Raises ValueError for a clip shorter than the CNN's receptive field (25 ms for released models).
    """
    torch, _ = _import_hf()
    index = check_layer(model, layer)
    signal = np.asarray(signal_16k, dtype=np.float32)
    if signal.ndim != 1:
        raise ValueError(f"expected a mono signal (N,), got shape {signal.shape}")
    if n_frames(model, len(signal)) <= 0:
        raise ValueError(
            f"clip too short for wav2vec ({1000 * len(signal) / WAV2VEC_SAMPLE_RATE:.1f} ms gives no frame)"
        )
    inputs = extractor(signal, sampling_rate=WAV2VEC_SAMPLE_RATE, return_tensors="pt")
    values = inputs["input_values"].to(next(model.parameters()).device)  # (1, N)
    model.eval()  # in case the caller trained or fine-tuned it since loading
    with torch.no_grad():
        hidden = model(values, output_hidden_states=True).hidden_states[index]  # (1, T, H)
    return hidden[0].cpu().numpy().astype(np.float32, copy=False)  # (T, H)


def extract_wav2vec_features(path, model, extractor, layer: int, sample_rate: int = WAV2VEC_SAMPLE_RATE) -> np.ndarray:
    """One audio file -> wav2vec frames; any problem with the file is a BadInputError naming it.  # (T, H)"""
    if sample_rate != WAV2VEC_SAMPLE_RATE:
        raise ConfigError(f"parameter sample_rate={sample_rate}: wav2vec models take {WAV2VEC_SAMPLE_RATE} Hz audio")
    check_layer(model, layer)  # a bad layer is the user's parameter, not this file's fault
    signal = load_audio(path, sample_rate)  # (N,)
    try:
        frames = wav2vec_embeddings(model, extractor, signal, layer)
    except ValueError as err:
        raise BadInputError(path, _one_line(err)) from None
    if not np.isfinite(frames).all():
        raise BadInputError(path, "wav2vec features contain NaN or infinite values")
    return frames


def wav2vec_params(source: str, layer: int) -> dict:
    """What decides the numbers: the cache key / features.json parameters for these features."""
    return {"kind": "wav2vec", "source": str(source), "layer": int(layer), "sample_rate": WAV2VEC_SAMPLE_RATE}
