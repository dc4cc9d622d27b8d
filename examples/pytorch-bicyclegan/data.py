"""The pix2pix aligned format, as ganwatch's trainer reads it (trainer/data/aligned.ts): one image per pair, A = left
half | B = right half, in ROOT/train and ROOT/val (or ROOT/test); --direction BtoA swaps the halves. Training resizes
each half (bicubic) to load_size², then takes one random size² crop and one random horizontal flip shared by A and B;
validation resizes each half straight to size². A folder written by `npm run dataset -- synthetic` also holds
labels.json (each pair's palette, the palettes' colours): its images are used as they are, as `--dataset synthetic`
draws them, and its labels give mode coverage and the classes of the latent codes. Images are read with Pillow."""

from __future__ import annotations

import json
import os
import re

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

IMAGE_FILE = re.compile(r"\.(jpe?g|png)$", re.IGNORECASE)
MIN_HALF = 16


class DatasetError(Exception):
    """A dataset problem the user must fix: ``code`` is the GW_ERR_* code of protocol/errors.ts, with its message."""

    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code, self.message = code, message


def natural_key(name: str) -> list:
    """'2.jpg' before '10.jpg', as the TypeScript loader sorts (localeCompare with numeric: true)."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name)]


def read_labels(root: str) -> dict | None:
    """labels.json of an exported synthetic set, or None for plain pix2pix data."""
    path = os.path.join(root, "labels.json")
    if not os.path.isfile(path):
        return None
    try:
        with open(path, encoding="utf-8") as f:
            manifest = json.load(f)
        if not isinstance(manifest.get("palettes"), list) or not isinstance(manifest.get("train"), dict):
            raise ValueError("it has no palettes or no train labels")
        return manifest
    except (OSError, ValueError) as err:
        detail = f"{path} is not an exported dataset's labels: {err}"
        raise DatasetError("GW_ERR_OPTION", f"Invalid option: {detail}") from None


class PairFolder:
    """One split of an aligned dataset. Pairs are decoded when a batch asks for them; every file's header is checked
    when the folder is opened, so a corrupt or odd-sized image is reported before training starts."""

    def __init__(
        self,
        root: str,
        split: str,
        size: int,
        direction: str,
        train: bool,
        load_size: int,
        flip: bool,
        manifest: dict | None,
    ):
        folder = os.path.join(root, split)
        if split == "val" and not os.path.isdir(folder) and os.path.isdir(os.path.join(root, "test")):
            folder = os.path.join(root, "test")
        if not os.path.isdir(folder):
            raise DatasetError("GW_ERR_DATASET_MISSING", f"Dataset folder '{folder}' does not exist")
        names = sorted((n for n in os.listdir(folder) if IMAGE_FILE.search(n)), key=natural_key)
        if not names:
            raise DatasetError("GW_ERR_DATASET_EMPTY", f"Dataset folder '{folder}' holds no .jpg, .jpeg or .png images")
        self.paths = [os.path.join(folder, n) for n in names]
        for path in self.paths:
            check_header(path)
        self.size, self.swap, self.train, self.flip = size, direction == "BtoA", train, flip
        self.load_size = load_size if train else size
        self.labels: list[int] | None = None
        if manifest is not None:
            by_name = manifest.get("train" if split == "train" else "val", {})
            missing = [n for n in names if n not in by_name]
            if missing:
                detail = f"labels.json has no label for {split}/{missing[0]}"
                raise DatasetError("GW_ERR_OPTION", f"Invalid option: {detail}")
            self.labels = [int(by_name[n]) for n in names]

    def __len__(self) -> int:
        return len(self.paths)

    def _halves(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """Pair i as two load_size² RGB arrays, A first (after --direction)."""
        path = self.paths[i]
        try:
            with Image.open(path) as image:
                ab = image.convert("RGB")
        except (OSError, UnidentifiedImageError) as err:
            raise DatasetError("GW_ERR_IMAGE_CORRUPT", f"Cannot decode image '{path}': {err}") from None
        w, h = ab.size
        left, right = ab.crop((0, 0, w // 2, h)), ab.crop((w // 2, 0, w, h))
        if self.swap:
            left, right = right, left
        side = self.load_size
        return tuple(  # type: ignore[return-value]
            np.asarray(half if half.size == (side, side) else half.resize((side, side), Image.BICUBIC))
            for half in (left, right)
        )

    def batch(self, indices, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Pairs ``indices`` as two N×3×size×size float tensors in [-1, 1]. Training draws each item's crop and flip
        from ``generator``."""
        a_list, b_list = [], []
        for i in indices:
            a, b = self._halves(i)
            if self.train:
                slack = self.load_size - self.size
                x, y = (torch.randint(0, slack + 1, (2,), generator=generator).tolist()) if slack > 0 else (0, 0)
                a, b = a[y : y + self.size, x : x + self.size], b[y : y + self.size, x : x + self.size]
                if self.flip and torch.rand((), generator=generator) < 0.5:
                    a, b = a[:, ::-1], b[:, ::-1]
            a_list.append(np.ascontiguousarray(a))
            b_list.append(np.ascontiguousarray(b))

        def tensor(items: list[np.ndarray]) -> torch.Tensor:
            return torch.from_numpy(np.stack(items)).permute(0, 3, 1, 2).float() / 127.5 - 1

        return tensor(a_list), tensor(b_list)


def check_header(path: str) -> None:
    try:
        with Image.open(path) as image:
            w, h = image.size
    except (OSError, UnidentifiedImageError) as err:
        raise DatasetError("GW_ERR_IMAGE_CORRUPT", f"Cannot decode image '{path}': {err}") from None
    if w % 2 or w // 2 < MIN_HALF or h < MIN_HALF:
        raise DatasetError(
            "GW_ERR_IMAGE_SIZE",
            f"Image '{path}' has an unusable size: {w}×{h} (a pair needs an even width and halves of at least "
            f"{MIN_HALF}×{MIN_HALF})",
        )


def open_dataset(root: str, size: int, direction: str, flip: bool) -> tuple[PairFolder, PairFolder, dict | None]:
    """The training and validation splits of ROOT and its labels.json (None for plain pix2pix data)."""
    if not os.path.isdir(root):
        raise DatasetError("GW_ERR_DATASET_MISSING", f"Dataset folder '{root}' does not exist")
    manifest = read_labels(root)
    if manifest is not None:
        if manifest.get("size") != size:
            raise DatasetError(
                "GW_ERR_OPTION",
                f"Invalid option: {root} was exported at {manifest.get('size')} px, --size is {size} "
                f"(export it again with --size {size})",
            )
        # An exported synthetic set is used as drawn: no resize, crop nor flip, as --dataset synthetic trains.
        train = PairFolder(root, "train", size, direction, True, size, False, manifest)
    else:
        train = PairFolder(root, "train", size, direction, True, int(size * 1.125 + 0.5), flip, None)
    val = PairFolder(root, "val", size, direction, False, size, False, manifest)
    return train, val, manifest
