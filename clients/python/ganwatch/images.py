"""Images for ``Run.log_image``: PNG bytes pass through; arrays (numpy, torch on any device, nested lists) of uint8,
integer, boolean or float pixels, H×W, H×W×C, C×H×W or a batch N×C×H×W / N×H×W×C (tiled into a grid), are encoded
to PNG with the standard library's zlib. numpy is used when it is installed, never required."""

from __future__ import annotations

import math
import struct
import zlib
from collections.abc import Sequence
from typing import Any

from .errors import InputError
from .wire import MAX_MEDIA_BYTES, PNG_SIGNATURE

CHANNELS = (1, 3, 4)
# PNG colour types by channel count: grey, RGB, RGBA.
COLOR_TYPE = {1: 0, 3: 2, 4: 6}
GRID_COLUMNS = 8
LAYOUT_LETTERS = frozenset("NCHW")


def _numpy() -> Any:
    try:
        import numpy
    except ImportError:  # the standard-library path below does the same work, only slower
        return None
    return numpy


def png_of(image: Any, dataformats: str | None = None, value_range: str = "auto") -> tuple[bytes, dict]:
    """PNG bytes for ``image`` and what the encoding found (size, channels, grid). ``value_range``: ``"auto"`` reads
    floats as [-1, 1] when any is negative, else [0, 1]; ``"tensorboard"`` scales every non-uint8 array by 255 as
    TensorBoard's SummaryWriter does. NaN pixels become 0. Raises InputError for anything that is not an image."""
    if isinstance(image, (bytes, bytearray, memoryview)):
        data = bytes(image)
        if not data.startswith(PNG_SIGNATURE):
            raise InputError("image bytes must be a PNG (they must start with the PNG signature)")
        _check_size(len(data))
        return data, {}
    if value_range not in ("auto", "tensorboard"):
        raise InputError(f"value_range must be 'auto' or 'tensorboard', got {value_range!r}")
    np = _numpy()
    array = _as_numpy(np, image) if np is not None else None
    if array is not None:
        return _encode_numpy(np, array, dataformats, value_range)
    flat, shape = _as_flat(image)
    return _encode_flat(flat, shape, dataformats, value_range)


# ---------------------------------------------------------------- layouts


def layout_of(shape: Sequence[int], dataformats: str | None) -> str:
    """The letters (from N, C, H, W) naming each axis of ``shape``: as given, or guessed from where a channel axis of
    1, 3 or 4 can be. An ambiguous shape such as (3, 8, 4) asks for ``dataformats``."""
    ndim = len(shape)
    if dataformats is not None:
        letters = str(dataformats).upper()
        if len(set(letters)) != len(letters) or not set(letters) <= LAYOUT_LETTERS or not {"H", "W"} <= set(letters):
            raise InputError(
                f"dataformats {dataformats!r} must name the axes with H, W and optionally C and N, e.g. 'CHW'"
            )
        if len(letters) != ndim:
            raise InputError(
                f"dataformats {dataformats!r} names {len(letters)} axes, the image has {ndim}: {tuple(shape)}"
            )
        return letters
    if ndim == 2:
        return "HW"
    if ndim not in (3, 4):
        raise InputError(f"an image must have 2, 3 or 4 axes (H×W, H×W×C, C×H×W, or a batch), got shape {tuple(shape)}")
    first, last = shape[ndim - 3], shape[-1]
    lead = "N" if ndim == 4 else ""
    if last in CHANNELS and first not in CHANNELS:
        return lead + "HWC"
    if first in CHANNELS and last not in CHANNELS:
        return lead + "CHW"
    if first in CHANNELS and last in CHANNELS:
        raise InputError(
            f"image shape {tuple(shape)} is ambiguous: pass dataformats='{lead}CHW' or dataformats='{lead}HWC'"
        )
    raise InputError(
        f"image shape {tuple(shape)} has no channel axis of 1, 3 or 4 first or last (H×W×C or C×H×W); "
        "pass dataformats= if the axes are in another order"
    )


def _nhwc_order(letters: str) -> list[int]:
    """Axis order that brings an array with these letters to N, H, W, C (missing N and C are added as size 1 first)."""
    full = ("" if "N" in letters else "N") + ("" if "C" in letters else "C") + letters
    return [full.index(axis) for axis in "NHWC"]


def _grid_shape(count: int) -> tuple[int, int]:
    columns = min(count, GRID_COLUMNS)
    return math.ceil(count / columns), columns


def _check_size(length: int) -> None:
    if length > MAX_MEDIA_BYTES:
        raise InputError(f"the PNG has {length} bytes; the server takes at most {MAX_MEDIA_BYTES}")


def _check_dims(n: int, h: int, w: int, c: int) -> None:
    if n < 1 or h < 1 or w < 1:
        raise InputError(f"an image needs at least one pixel, got {n} image(s) of {h}×{w}")
    if c not in CHANNELS:
        raise InputError(f"an image needs 1, 3 or 4 channels, got {c}")


def _meta(n: int, h: int, w: int, c: int) -> dict:
    meta: dict = {"width": w, "height": h, "channels": c}
    if n > 1:
        rows, columns = _grid_shape(n)
        meta.update(images=n, grid_rows=rows, grid_columns=columns, width=w * columns, height=h * rows)
    return meta


# ---------------------------------------------------------------- numpy path


def _as_numpy(np: Any, image: Any) -> Any:
    """The image as a numpy array, or None when it cannot be one (then the pure-Python path reports the problem)."""
    if hasattr(image, "detach") and hasattr(image, "cpu"):  # a torch tensor, on any device, maybe requiring grad
        tensor = image.detach().cpu()
        if str(tensor.dtype) in ("torch.bfloat16", "torch.float16"):
            tensor = tensor.float()
        return tensor.numpy()
    if isinstance(image, np.ndarray):
        return image
    if isinstance(image, (list, tuple)):
        try:
            array = np.asarray(image)
        except ValueError as err:  # ragged nesting
            raise InputError(f"image rows must all have the same length ({err})") from None
        if array.dtype == object or array.dtype.kind in "USV":
            raise InputError("image pixels must be numbers")
        return array
    raise InputError(
        f"an image must be PNG bytes, a numpy array, a torch tensor or nested lists, got {type(image).__name__}"
    )


def _encode_numpy(np: Any, array: Any, dataformats: str | None, value_range: str) -> tuple[bytes, dict]:
    letters = layout_of(array.shape, dataformats)
    array = array.reshape(((1,) if "N" not in letters else ()) + ((1,) if "C" not in letters else ()) + array.shape)
    array = array.transpose(_nhwc_order(letters))
    n, h, w, c = array.shape
    _check_dims(n, h, w, c)
    pixels = _to_uint8_numpy(np, array, value_range)
    if n > 1:
        rows, columns = _grid_shape(n)
        canvas = np.zeros((rows * h, columns * w, c), dtype=np.uint8)
        for i in range(n):
            r, k = divmod(i, columns)
            canvas[r * h : (r + 1) * h, k * w : (k + 1) * w] = pixels[i]
        pixels = canvas
    else:
        pixels = pixels[0]
    height, width = pixels.shape[0], pixels.shape[1]
    rows_data = np.ascontiguousarray(pixels).reshape(height, width * c)
    # Filter "Up" (each row minus the one above, mod 256) on every row but the first: sample grids compress better.
    filtered = np.empty((height, width * c + 1), dtype=np.uint8)
    filtered[0, 0] = 0
    filtered[0, 1:] = rows_data[0]
    filtered[1:, 0] = 2
    np.subtract(rows_data[1:], rows_data[:-1], out=filtered[1:, 1:])
    png = encode_png(filtered.tobytes(), width, height, c)
    return png, _meta(n, h, w, c)


def _to_uint8_numpy(np: Any, array: Any, value_range: str) -> Any:
    kind = array.dtype.kind
    if array.dtype == np.uint8:
        return array
    if kind == "b":
        return array.astype(np.uint8) * 255
    if kind not in "uif":
        raise InputError(f"image pixels must be numbers, got dtype {array.dtype}")
    if value_range == "tensorboard":
        scaled = np.nan_to_num(array.astype(np.float32), nan=0.0) * 255
        return np.clip(scaled, 0, 255).astype(np.uint8)
    if kind in "ui":
        low, high = int(array.min()), int(array.max())
        if low < 0 or high > 255:
            raise InputError(f"integer pixels must be in [0, 255], got values from {low} to {high}")
        return array.astype(np.uint8)
    values = array.astype(np.float64)
    finite = np.isfinite(values)
    if finite.any() and values[finite].min() < 0:
        values = (values + 1) / 2
    values = np.nan_to_num(values, nan=0.0, posinf=1.0, neginf=0.0)
    return np.floor(np.clip(values, 0, 1) * 255 + 0.5).astype(np.uint8)


# ---------------------------------------------------------------- standard-library path


def _as_flat(image: Any) -> tuple[list, tuple[int, ...]]:
    """Nested lists (or a tensor's tolist()) as a flat list of pixels and the shape."""
    if hasattr(image, "detach") and hasattr(image, "tolist"):
        tensor = image.detach().cpu()
        return _flatten(tensor.tolist())
    if not isinstance(image, (list, tuple)):
        raise InputError(f"an image must be PNG bytes, a torch tensor or nested lists, got {type(image).__name__}")
    return _flatten(image)


def _flatten(nested: Any) -> tuple[list, tuple[int, ...]]:
    shape: list[int] = []
    level = nested
    while isinstance(level, (list, tuple)):
        shape.append(len(level))
        if not level:
            break
        level = level[0]
    flat: list = []

    def walk(item: Any, depth: int) -> None:
        if depth == len(shape):
            if isinstance(item, (list, tuple)):
                raise InputError("image rows must all have the same length")
            flat.append(item)
            return
        if not isinstance(item, (list, tuple)) or len(item) != shape[depth]:
            raise InputError("image rows must all have the same length")
        for sub in item:
            walk(sub, depth + 1)

    walk(nested, 0)
    return flat, tuple(shape)


def _encode_flat(flat: list, shape: tuple[int, ...], dataformats: str | None, value_range: str) -> tuple[bytes, dict]:
    letters = layout_of(shape, dataformats)
    full = ("" if "N" in letters else "N") + ("" if "C" in letters else "C") + letters
    sizes = dict(zip(full, ((1,) if "N" not in letters else ()) + ((1,) if "C" not in letters else ()) + shape))
    n, h, w, c = sizes["N"], sizes["H"], sizes["W"], sizes["C"]
    _check_dims(n, h, w, c)
    pixels = _to_uint8_flat(flat, value_range)
    strides = {}
    step = 1
    for axis in reversed(full):
        strides[axis] = step
        step *= sizes[axis]
    rows_count, columns = _grid_shape(n) if n > 1 else (1, 1)
    width, height = w * columns, h * rows_count
    blank = bytes(w * c)
    raw = bytearray()
    for y in range(height):
        raw.append(0)
        r, yy = divmod(y, h)
        for k in range(columns):
            i = r * columns + k
            if i >= n:
                raw += blank
                continue
            base = i * strides["N"] + yy * strides["H"]
            for x in range(w):
                at = base + x * strides["W"]
                raw += bytes(pixels[at + ch * strides["C"]] for ch in range(c))
    return encode_png(bytes(raw), width, height, c), _meta(n, h, w, c)


def _to_uint8_flat(flat: list, value_range: str) -> list[int]:
    for value in flat:
        if isinstance(value, (str, bytes)) or not isinstance(value, (int, float)):
            raise InputError(f"image pixels must be numbers, got {type(value).__name__}")
    if value_range == "tensorboard":
        return [min(255, max(0, int(0.0 if v != v else float(v) * 255))) for v in flat]
    if all(isinstance(v, bool) for v in flat):
        return [255 if v else 0 for v in flat]
    if all(isinstance(v, int) for v in flat):
        low, high = min(flat), max(flat)
        if low < 0 or high > 255:
            raise InputError(f"integer pixels must be in [0, 255], got values from {low} to {high}")
        return [int(v) for v in flat]
    finite = [float(v) for v in flat if math.isfinite(v)]
    shift = bool(finite) and min(finite) < 0
    out = []
    for v in flat:
        value = float(v)
        if value != value:
            value = 0.0
        elif shift:
            value = (value + 1) / 2
        out.append(int(math.floor(min(1.0, max(0.0, value)) * 255 + 0.5)))
    return out


# ---------------------------------------------------------------- PNG


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def encode_png(filtered_rows: bytes, width: int, height: int, channels: int) -> bytes:
    """A PNG of 8-bit pixels from rows that already carry their filter byte."""
    header = struct.pack(">IIBBBBB", width, height, 8, COLOR_TYPE[channels], 0, 0, 0)
    png = (
        PNG_SIGNATURE
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(filtered_rows, 6))
        + _chunk(b"IEND", b"")
    )
    _check_size(len(png))
    return png
