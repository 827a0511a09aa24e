"""User-facing errors: one line that names the file or parameter and the reason."""


class EmotionError(Exception):
    """Raised for anything a user can fix; the CLI prints it as one line, never a traceback."""


class BadInputError(EmotionError):
    """A file (audio, features, corpus folder) that cannot be used, with the path in the message."""

    def __init__(self, path, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class ConfigError(EmotionError):
    """An unknown variant, parameter or out-of-range value."""
