"""Where the team's development data sits beside a checkout: `../shared/data` (real RAVDESS at 16 kHz,
EmoBox's published folds). Tests and benchmarks read it from here; no run depends on it.
EMOTION_SHARED_DATA points elsewhere (a checkout that is not beside shared/)."""

from __future__ import annotations

import os
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[2]  # emotion/corpus/dev_paths.py -> the repository root
SHARED_DATA = Path(os.environ.get("EMOTION_SHARED_DATA", CHECKOUT.parent / "shared" / "data"))
RAVDESS16K = SHARED_DATA / "ravdess16k"  # 18 actors, 1080 clips (its README)
EMODB2 = SHARED_DATA / "emodb2"  # two EmoDB speakers' original files (03, 09), 92 clips
EMOBOX_RAVDESS = SHARED_DATA / "emobox" / "ravdess"  # EmoBox's ravdess_{train,test}_fold_{1..6}.jsonl
