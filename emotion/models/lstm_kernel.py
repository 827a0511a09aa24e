"""Which LSTM kernel a run's BiLSTMs take: cuDNN's fused kernel on a GPU, or Keras' step loop.

Keras 3 (TensorFlow backend) uses cuDNN when a GPU is visible and the layer allows it: tanh / sigmoid
activations, no unrolling, a bias, no recurrent dropout, and right-padded masks (the pipeline's zero
padding is at the end). `lstm_kernel` is the switch: "auto" lets Keras choose, "cudnn" demands the
fused kernel (so a setting that rules it out, recurrent_dropout > 0, is a config error, not a quiet
slow run), "generic" forces the step loop. `lstm_path` records what ran: the `lstm_path` tag.
"""

from __future__ import annotations

KERNELS = {"auto": "auto", "cudnn": True, "generic": False}  # lstm_kernel -> keras.layers.LSTM(use_cudnn=...)


def use_cudnn(model_config) -> str | bool:
    return KERNELS[getattr(model_config, "lstm_kernel", "auto")]


def lstm_path(model_config) -> str:
    """ "cudnn" or "generic (<why>)" for the variant's LSTMs on this machine."""
    import tensorflow as tf

    if getattr(model_config, "lstm_kernel", "auto") == "generic":
        return "generic (lstm_kernel=generic)"
    if getattr(model_config, "recurrent_dropout", 0.0) > 0:
        return "generic (recurrent_dropout > 0 rules cuDNN out)"
    if not tf.config.list_physical_devices("GPU"):
        return "generic (no GPU)"
    return "cudnn"
