"""Validation as ganwatch's trainer does it (trainer/validate.ts, trainer/eval/): the same inputs and the same z every
time, so grids and metrics of different epochs compare. The sample grid has one row per input: input, target, the
encoded-z output G(A, μ(E(B))), then the random-z outputs. Metrics:
  val/L1             mean |encoded-z output − target|
  val/ssim           SSIM of encoded-z outputs against targets: 11×11 Gaussian window, σ 1.5, K1 0.01, K2 0.03, data
                     range 2, 'valid' filtering (scikit-image's structural_similarity with gaussian_weights=True)
  val/diversity      mean pairwise L1 between the random-z outputs of each input, averaged over inputs (range [0, 2])
  val/mode_coverage  labelled (synthetic) data: the fraction of the K palettes among each input's random-z outputs,
                     each output classified by its nearest palette (synthetic.ts paletteDistances), averaged"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

SSIM_WINDOW, SSIM_SIGMA, SSIM_K1, SSIM_K2 = 11, 1.5, 0.01, 0.03
CHUNK = 16  # largest batch given to G or E during validation
GRID_PADDING, GRID_BACKGROUND = 2, (24, 24, 24)


# ---------------------------------------------------------------- metrics


def ssim(x: torch.Tensor, y: torch.Tensor, data_range: float = 2.0) -> torch.Tensor:
    """SSIM of each pair of N×C×H×W images (H, W ≥ 11), one mean per pair, computed in float64."""
    x, y = x.double(), y.double()
    c = x.size(1)
    c1, c2 = (SSIM_K1 * data_range) ** 2, (SSIM_K2 * data_range) ** 2
    # Variances are invariant to a shift common to x and y: centring keeps E[x²] − E[x]² away from cancellation.
    centre = 0.5 * (x.mean(dim=(2, 3), keepdim=True) + y.mean(dim=(2, 3), keepdim=True))
    xc, yc = x - centre, y - centre
    r = (SSIM_WINDOW - 1) / 2
    g = torch.exp(-0.5 * ((torch.arange(SSIM_WINDOW, dtype=torch.float64) - r) / SSIM_SIGMA) ** 2)
    g = (g / g.sum()).to(x.device)
    stack = torch.cat([xc, yc, xc * xc, yc * yc, xc * yc], 1)
    rows = g.view(1, 1, SSIM_WINDOW, 1).repeat(5 * c, 1, 1, 1)
    cols = g.view(1, 1, 1, SSIM_WINDOW).repeat(5 * c, 1, 1, 1)
    f = F.conv2d(F.conv2d(stack, rows, groups=5 * c), cols, groups=5 * c)  # separable 'valid' Gaussian filter
    mx, my, mxx, myy, mxy = f.split(c, 1)
    vx, vy, vxy = mxx - mx * mx, myy - my * my, mxy - mx * my
    ux, uy = mx + centre, my + centre
    ssim_map = ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux * ux + uy * uy + c1) * (vx + vy + c2))
    return ssim_map.mean(dim=(1, 2, 3))


def diversity(random: torch.Tensor) -> float:
    """random: inputs × samples × C×H×W. Mean over inputs of the mean |o_a − o_b| over all pairs a < b."""
    k = random.size(1)
    if k < 2:
        raise ValueError("diversity needs at least 2 samples per input")
    flat = random.reshape(random.size(0), k, -1).double()
    pairs = [(flat[:, a] - flat[:, b]).abs().mean(dim=1) for a in range(k) for b in range(a + 1, k)]
    return float(torch.stack(pairs, 1).mean())


def palette_distances(images: np.ndarray, palettes: list[dict]) -> np.ndarray:
    """images: n × H×W×3 in [-1, 1]; palettes: [{fg, bg}] with colours in [0, 1]. For each image and palette k, the
    mean distance (RGB, [-1, 1] units) from its pixels to the colour segment fg–bg (anti-aliased edges lie on it, so
    a clean target scores 0 for its own palette). A port of synthetic.ts paletteDistances."""
    px = images.reshape(images.shape[0], -1, 3).astype(np.float64)
    out = np.empty((images.shape[0], len(palettes)))
    for k, p in enumerate(palettes):
        fg = np.asarray(p["fg"], dtype=np.float64) * 2 - 1
        bg = np.asarray(p["bg"], dtype=np.float64) * 2 - 1
        e = fg - bg
        w = px - bg
        t = np.clip((w @ e) / (e @ e), 0, 1)
        q = w - t[..., None] * e
        out[:, k] = np.sqrt((q * q).sum(-1)).mean(-1)
    return out


def classify_palette(images: np.ndarray, palettes: list[dict]) -> np.ndarray:
    """The nearest palette of each image (ties go to the lower index, as synthetic.ts classifyPalette)."""
    return palette_distances(images, palettes).argmin(axis=1)


def mode_coverage(random: torch.Tensor, palettes: list[dict]) -> float:
    """random: inputs × samples × 3×H×W. Mean over inputs of (distinct nearest palettes among its samples) / K."""
    n, k = random.shape[:2]
    hwc = random.permute(0, 1, 3, 4, 2).reshape(n * k, random.size(3), random.size(4), 3).cpu().numpy()
    classes = classify_palette(hwc, palettes).reshape(n, k)
    return float(np.mean([len(set(row.tolist())) / len(palettes) for row in classes]))


# ---------------------------------------------------------------- the grid


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """N×3×H×W in [-1, 1] to N×H×W×3 bytes: round((v + 1)·127.5), clamped (trainer/images.ts toUint8Rgb)."""
    v = torch.nan_to_num(images.detach().float().cpu(), nan=-1.0)
    return torch.clamp(torch.round((v + 1) * 127.5), 0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()


def grid(rows: list[list[torch.Tensor]]) -> np.ndarray:
    """Tiles (3×S×S each) laid out row by row with a 2 px gap on a dark background, as an H×W×3 uint8 image."""
    size = rows[0][0].size(-1)
    columns = len(rows[0])
    height = len(rows) * size + (len(rows) + 1) * GRID_PADDING
    width = columns * size + (columns + 1) * GRID_PADDING
    canvas = np.empty((height, width, 3), dtype=np.uint8)
    canvas[:] = GRID_BACKGROUND
    for r, row in enumerate(rows):
        tiles = to_uint8(torch.stack(row))
        for c, tile in enumerate(tiles):
            y, x = GRID_PADDING + r * (size + GRID_PADDING), GRID_PADDING + c * (size + GRID_PADDING)
            canvas[y : y + size, x : x + size] = tile
    return canvas


# ---------------------------------------------------------------- the validator


@dataclass
class ValidationResult:
    metrics: dict[str, float]
    grid: np.ndarray
    meta: dict
    codes: torch.Tensor | None
    code_labels: list[int] | None


def fingerprint(*tensors: torch.Tensor) -> str:
    """The first 16 hex digits of SHA-256 over the tensors' float32 bytes, as ganwatch's trainer fingerprints its grid's
    inputs and z (trainer/validate.ts): equal for two runs of this example with the same data and seed."""
    h = hashlib.sha256()
    for t in tensors:
        h.update(t.detach().to(torch.float32).contiguous().cpu().numpy().tobytes())
    return h.hexdigest()[:16]


class Validator:
    """Fixed inputs (the first ``count`` validation pairs) and fixed z (seeded), so every validation compares."""

    def __init__(self, val, nz: int, count: int, samples: int, latent_count: int, seed: int, palettes: list | None):
        self.val = val
        self.count = min(count, len(val))
        self.samples = samples
        self.latent_count = min(latent_count, len(val))
        self.palettes = palettes
        self.a, self.b = val.batch(range(self.count))
        self.z = torch.randn(self.count * samples, nz, generator=torch.Generator().manual_seed(seed))
        # What lets the dashboard's Compare swipe and difference two runs' grids: the same inputs and the same z.
        self.inputs_id = fingerprint(self.a, self.b)
        self.z_id = fingerprint(self.z)

    @property
    def columns(self) -> list[str]:
        return ["input", "target", "encoded"] + [f"z{k + 1}" for k in range(self.samples)]

    def run(self, model) -> ValidationResult:
        t0 = time.perf_counter()
        dev = model.device
        a, b = self.a.to(dev), self.b.to(dev)
        encoded = torch.cat(
            [model.generate(a[i : i + CHUNK], model.encode(b[i : i + CHUNK])) for i in range(0, self.count, CHUNK)]
        )
        rows = a.repeat_interleave(self.samples, 0)  # (input i, z k) in order
        z = self.z.to(dev)
        random = torch.cat([model.generate(rows[j : j + CHUNK], z[j : j + CHUNK]) for j in range(0, len(rows), CHUNK)])
        random = random.view(self.count, self.samples, *random.shape[1:])

        metrics = {
            "val/L1": float(torch.mean(torch.abs(encoded - b))),
            "val/ssim": float(ssim(encoded, b).mean()),
        }
        if self.samples >= 2:
            metrics["val/diversity"] = diversity(random)
        if self.palettes is not None:
            metrics["val/mode_coverage"] = mode_coverage(random, self.palettes)

        image = grid([[a[i], b[i], encoded[i], *random[i]] for i in range(self.count)])
        labels = self.val.labels
        meta = {
            "rows": self.count,
            "columns": len(self.columns),
            "labels": self.columns,
            "tile": a.size(-1),
            "row_labels": labels[: self.count] if labels is not None else None,
            "z": "fixed per row and column across validations; encoded uses z = mu(E(target))",
            "inputs_id": self.inputs_id,
            "z_id": self.z_id,
        }
        codes = code_labels = None
        if self.latent_count > 0:
            parts = []
            for i in range(0, self.latent_count, CHUNK):
                _, targets = self.val.batch(range(i, min(i + CHUNK, self.latent_count)))
                parts.append(model.encode(targets.to(dev)).cpu())
            codes = torch.cat(parts)
            code_labels = labels[: self.latent_count] if labels is not None else None
        metrics["perf/val_ms"] = (time.perf_counter() - t0) * 1000
        return ValidationResult(metrics, image, meta, codes, code_labels)
