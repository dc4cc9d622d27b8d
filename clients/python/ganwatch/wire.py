"""The v1 wire format as the client needs it: limits and name patterns (the same as protocol/limits.ts; a Node test
checks that they agree), and the conversion of Python, numpy and torch values into JSON the server accepts.
numpy and torch are never imported here: their objects are recognised by what they offer (``item``, ``shape``)."""

from __future__ import annotations

import json
import math
import numbers
import re
from collections.abc import Mapping
from typing import Any

from .errors import InputError

MAX_POINTS_PER_BATCH = 10_000
MAX_BODY_BYTES = 4 * 1024 * 1024
MAX_MEDIA_BYTES = 16 * 1024 * 1024
MAX_LATENT_CODES = 20_000
MAX_LATENT_DIM = 1024
MAX_VALUES_PER_POINT = 1000
MAX_DISTRIBUTION_BUCKETS = 512
MAX_DISTRIBUTIONS_PER_BATCH = 2000
DEFAULT_HISTOGRAM_BUCKETS = 64
MAX_LATENT_LABEL = 1_000_000
MAX_SAFE_INTEGER = 2**53 - 1
MAX_WALL = 1e11
MAX_NOTES_CHARS = 20_000
METRIC_NAME_PATTERN = r"^[A-Za-z0-9_./-]{1,128}$"
MEDIA_KIND_PATTERN = r"^[A-Za-z0-9_.-]{1,64}$"
RUN_ID_PATTERN = r"^[a-z0-9]{1,32}$"
RUN_STATUSES = ("running", "paused", "finished", "failed", "disconnected")
API_PREFIX = "/api/v1"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

METRIC_NAME = re.compile(METRIC_NAME_PATTERN)
MEDIA_KIND = re.compile(MEDIA_KIND_PATTERN)
RUN_ID = re.compile(RUN_ID_PATTERN)


def element_count(value: Any) -> int | None:
    """How many elements an array-like holds (numpy ``size``, torch ``numel()``), or None for other objects."""
    numel = getattr(value, "numel", None)
    if callable(numel):
        return int(numel())
    size = getattr(value, "size", None)
    if isinstance(size, int) and hasattr(value, "shape"):
        return size
    return None


def to_number(value: Any, what: str) -> float | int:
    """A metric value as a plain Python int or float: Python numbers, numpy scalars and one-element numpy arrays or
    torch tensors (on any device). NaN and ±inf are kept. Anything else raises InputError naming ``what``."""
    if type(value) is float or type(value) is int:
        return value
    if isinstance(value, (str, bytes, bytearray)) or value is None:
        raise InputError(f"{what} must be a number, got {type(value).__name__} {value!r:.60}")
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    count = element_count(value)
    if count is not None:
        if count != 1:
            shape = tuple(getattr(value, "shape", ()))
            raise InputError(f"{what} must be a single number, got an array of shape {shape} ({count} values)")
        item = value.item()
        if isinstance(item, bool):
            return int(item)
        if isinstance(item, (int, float)):
            return item
        raise InputError(f"{what} must be a real number, got {type(item).__name__} {item!r:.60}")
    raise InputError(f"{what} must be a number, got {type(value).__name__}")


def to_count(value: Any, what: str, maximum: int = MAX_SAFE_INTEGER) -> int:
    """A non-negative integer (a step, an epoch): Python ints, numpy integers, one-element integer tensors."""
    if isinstance(value, bool):
        raise InputError(f"{what} must be a non-negative integer, got {value!r}")
    if not isinstance(value, numbers.Integral):
        count = element_count(value)
        item = value.item() if count == 1 else None
        if not isinstance(item, int) or isinstance(item, bool):
            raise InputError(f"{what} must be a non-negative integer, got {type(value).__name__} {value!r:.60}")
        value = item
    number = int(value)
    if number < 0 or number > maximum:
        raise InputError(f"{what} must be an integer from 0 to {maximum}, got {number}")
    return number


def wire_value(number: float | int) -> float | int | str:
    """A value as JSON carries it: finite numbers as they are, NaN and ±inf as "NaN", "Infinity", "-Infinity"."""
    if type(number) is int:
        if -MAX_SAFE_INTEGER <= number <= MAX_SAFE_INTEGER:
            return number
        try:
            number = float(number)
        except OverflowError:
            return "Infinity" if number > 0 else "-Infinity"
    if math.isfinite(number):
        return number
    if math.isnan(number):
        return "NaN"
    return "Infinity" if number > 0 else "-Infinity"


def check_metric_name(name: Any) -> str:
    if not isinstance(name, str) or METRIC_NAME.match(name) is None:
        raise InputError(
            f"metric name {name!r:.140} must be 1 to 128 letters, digits or _ . / - (pattern {METRIC_NAME_PATTERN})"
        )
    return name


def check_wall(wall: Any) -> float:
    number = to_number(wall, "wall")
    if not math.isfinite(number) or number < 0 or number > MAX_WALL:
        raise InputError(f"wall must be seconds since the Unix epoch, got {wall!r}")
    return float(number)


# One encoder for every call: json.dumps() with non-default options builds a new encoder each time.
_ENCODER = json.JSONEncoder(separators=(",", ":"), allow_nan=False, ensure_ascii=False)


def dumps(value: Any) -> str:
    """Compact JSON that refuses NaN and Infinity (which are not JSON; wire_value turns them into strings first)."""
    return _ENCODER.encode(value)


def json_safe(value: Any, where: str, depth: int = 0) -> Any:
    """A configuration value as JSON: dicts with string keys, lists, strings, booleans, None and numbers (numpy and
    torch scalars too; NaN and ±inf as their wire strings). Other objects (paths, enums, classes) become their str()."""
    if depth > 32:
        raise InputError(f"{where} is nested more than 32 levels deep")
    if value is None or isinstance(value, (str, bool)):
        return value
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            if not isinstance(key, (str, int, float, bool)) and key is not None:
                raise InputError(f"{where} has a key of type {type(key).__name__}; keys must be strings")
            out[str(key)] = json_safe(item, f"{where}.{key}", depth + 1)
        return out
    if isinstance(value, (list, tuple, set, frozenset)):
        return [json_safe(item, f"{where}[{i}]", depth + 1) for i, item in enumerate(value)]
    if isinstance(value, numbers.Real) or element_count(value) == 1:
        try:
            return wire_value(to_number(value, where))
        except InputError:
            pass
    tolist = getattr(value, "tolist", None)
    if callable(tolist):
        return json_safe(tolist(), where, depth + 1)
    return str(value)
