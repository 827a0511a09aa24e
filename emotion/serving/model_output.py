"""What the logged model answers: its output rows, and the one error that refuses a whole request.

Output columns: "label", "p_<label>" for each of the model's classes, "error". An error row's probabilities are
None: pandas would hold NaN in a float column, which MLflow's scoring server writes as a bare NaN
token that strict JSON parsers (a browser's JSON.parse) reject, so one bad clip would make the whole
answer unreadable to them.
"""

from __future__ import annotations

import json

import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import BAD_REQUEST


EXAMPLE_REQUEST = '{"dataframe_records": [{"audio": "<base64 of a WAV, FLAC, OGG or MP3 file>"}]}'


class RequestError(MlflowException):
    """A request no row of which can be answered (HTTP 400), in words a client developer can act on.
    MLflow's scoring server puts the whole payload in front of an MlflowException's message; the JSON it
    answers (serialize_as_json) keeps this message alone."""

    def __init__(self, message: str):
        super().__init__(message, error_code=BAD_REQUEST)
        self.client_message = message

    def serialize_as_json(self) -> str:
        return json.dumps({"error_code": self.error_code, "message": self.client_message})


def prediction_frame(rows: list[dict], classes) -> pd.DataFrame:
    """Rows -> the output frame (classes: the model's, in its order); an error row's probabilities stay
    None (object columns, see above)."""
    columns = ["label", *[f"p_{e}" for e in classes], "error"]
    frame = pd.DataFrame(rows, columns=columns)
    probability = columns[1:-1]
    if frame[probability].isna().any().any():
        frame[probability] = frame[probability].astype(object).where(frame[probability].notna(), None)
    return frame
