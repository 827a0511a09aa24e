"""Corpora: file-name parsing into one manifest table, the built-in synthetic corpus, speaker splits."""
