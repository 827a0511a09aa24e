"""Keras models of every variant. Importing the package registers the custom layers, so a saved model
(`mlflow.keras.load_model`, `keras.saving.load_model`) loads in any process that imports it.
Sits above data, below serving (the order: emotion/__init__.py).

    layers.py             masked attention, masked pooling, frame pooling: the custom layers
    multimodal.py         no_aug / aug / sync_aug: BiLSTM + masked-attention branches for audio and video
    segment.py            cnn_lstm, cnn_lstm_simplified, cnn_pooling over segment features
    wav2vec_attention.py  BiLSTM -> LayerNorm -> masked self-attention -> pooled dense blocks
    whisper_finetune.py   Whisper's top encoder blocks (emotion/features/whisper_keras.py), trained, + a pooled head
    lstm_kernel.py        which LSTM kernel runs (cuDNN or generic) and why
    clip_svm.py           the clip-functional head (SVM or logistic) blended with a network
    speaker_stats.py      how a speaker's clips are standardised on the per-speaker path (speaker_stats)
    registry.py           variant name -> model builder
"""

from emotion.models import layers, whisper_finetune  # noqa: F401 -- registers the custom layers with Keras
