"""Per-clip features: audio decoding and log-mel/MFCC, per-frame video features, and the on-disk cache."""
