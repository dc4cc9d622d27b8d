"""Histograms of a named quantity at a step (``run.log_histogram``), bucketed exactly as protocol/histogram.ts does
it (equal-width buckets over the finite values' min..max, the last bucket holding its right edge, NaN and ±inf
counted apart), so the server stores their edges as just min and max. numpy does the counting when it is installed;
a torch tensor is read through numpy (or its list) on the CPU."""

from __future__ import annotations

import math
import numbers
from typing import Any

from .errors import InputError
from .wire import MAX_DISTRIBUTION_BUCKETS, to_count


def _floats(values: Any, numpy: Any) -> Any:
    """The values as a flat float64 numpy array (numpy present) or a list of floats."""
    if isinstance(values, (numbers.Number, str, bytes)) or values is None:
        raise InputError(f"histogram values must be a list or array of numbers, got {type(values).__name__}")
    detach = getattr(values, "detach", None)
    if callable(detach):  # a torch tensor, on any device
        values = detach().cpu()
        values = values.double().numpy() if numpy is not None else values.double().flatten().tolist()
    if numpy is not None:
        try:
            return numpy.asarray(values, dtype=numpy.float64).ravel()
        except (TypeError, ValueError) as err:
            raise InputError(f"histogram values must be numbers: {err}") from None
    if not hasattr(values, "__iter__"):
        raise InputError(f"histogram values must be a list or array of numbers, got {type(values).__name__}")
    out = []
    for i, v in enumerate(values):
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise InputError(f"histogram value {i} is not a number: {v!r:.60}")
        out.append(float(v))
    return out


def histogram_of(values: Any, buckets: int, numpy: Any) -> dict:
    """``{"edges": [...], "counts": [...], "nonFinite": n}`` of the values."""
    n_max = to_count(buckets, "buckets", MAX_DISTRIBUTION_BUCKETS)
    if n_max < 1:
        raise InputError(f"buckets must be an integer from 1 to {MAX_DISTRIBUTION_BUCKETS}, got {buckets}")
    data = _floats(values, numpy)
    if numpy is not None:
        finite = data[numpy.isfinite(data)]
        non_finite = int(data.size - finite.size)
        if finite.size == 0:
            return {"edges": [], "counts": [], "nonFinite": non_finite}
        lo, hi = float(finite.min()), float(finite.max())
    else:
        finite = [v for v in data if math.isfinite(v)]
        non_finite = len(data) - len(finite)
        if not finite:
            return {"edges": [], "counts": [], "nonFinite": non_finite}
        lo, hi = min(finite), max(finite)
    n = 1 if hi == lo else n_max
    width = (hi - lo) / n
    # The same arithmetic as histogramOf in TypeScript: the same doubles, so the server sees equal-width edges.
    edges = [hi if i == n else lo + i * width for i in range(n + 1)]
    if numpy is not None:
        index = numpy.zeros(finite.size, dtype=numpy.int64) if width == 0 else numpy.floor((finite - lo) / width)
        index = numpy.minimum(n - 1, index.astype(numpy.int64))
        counts = numpy.bincount(index, minlength=n).tolist()
    else:
        counts = [0] * n
        for v in finite:
            counts[0 if width == 0 else min(n - 1, int(math.floor((v - lo) / width)))] += 1
    return {"edges": edges, "counts": counts, "nonFinite": non_finite}
