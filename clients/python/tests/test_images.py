"""Specification of Run.log_image(): what reaches the server is a PNG that an independent decoder (pngjs) reads back
as exactly the pixels given, for every accepted layout and value range, with numpy, torch, or neither."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import unittest
import urllib.request

from support import (  # first: sys.path
    NODE,
    ROOT,
    WAIT,
    end_child,
    needs_numpy,
    needs_torch,
    python_child,
    read_report,
    shared_server,
    temp_dir,
)

import ganwatch
from ganwatch.images import png_of


def decode(png: bytes) -> tuple[int, int, list[tuple[int, int, int, int]]]:
    """(width, height, RGBA pixels row by row) as pngjs decodes ``png``."""
    path = os.path.join(temp_dir(), "image.png")
    with open(path, "wb") as file:
        file.write(png)
    out = subprocess.run(
        [NODE, "--import", "tsx", str(ROOT / "test" / "support" / "decode-png.ts"), path],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    body = json.loads(out)
    raw = base64.b64decode(body["rgba"])
    return body["width"], body["height"], [tuple(raw[i : i + 4]) for i in range(0, len(raw), 4)]


def rgba(pixels_hwc: list) -> list[tuple[int, int, int, int]]:
    """Expected RGBA pixels of an H×W×C list of uint8 (C = 1, 3 or 4)."""
    out = []
    for row in pixels_hwc:
        for px in row:
            if len(px) == 1:
                out.append((px[0], px[0], px[0], 255))
            elif len(px) == 3:
                out.append((*px, 255))
            else:
                out.append(tuple(px))
    return out


# A 5×6 RGB image (5 rows of 6 pixels) with distinct values everywhere, as H×W×C uint8.
HWC = [[[(y * 6 + x) * 8 % 256, (y * 6 + x) * 7 % 256, 255 - (y * 6 + x) * 8] for x in range(6)] for y in range(5)]


class EncodingTest(unittest.TestCase):
    def test_nested_lists_of_uint8_hwc_decode_to_the_same_pixels(self):
        self.assertEqual(decode(png_of(HWC)[0]), (6, 5, rgba(HWC)))

    @needs_numpy
    def test_numpy_uint8_in_hwc_and_chw_decode_to_the_same_pixels(self):
        import numpy as np

        hwc = np.array(HWC, dtype=np.uint8)
        self.assertEqual(decode(png_of(hwc)[0]), (6, 5, rgba(HWC)))
        self.assertEqual(decode(png_of(np.ascontiguousarray(hwc.transpose(2, 0, 1)))[0]), (6, 5, rgba(HWC)))

    @needs_numpy
    def test_floats_in_minus_one_to_one_and_zero_to_one_map_onto_0_255(self):
        import numpy as np

        hwc = np.array(HWC, dtype=np.float64)
        self.assertEqual(decode(png_of(hwc / 255)[0])[2], rgba(HWC))
        self.assertEqual(decode(png_of(hwc / 127.5 - 1)[0])[2], rgba(HWC))

    @needs_numpy
    def test_nan_pixels_are_black_and_values_beyond_the_range_are_clipped(self):
        import numpy as np

        image = np.array([[[float("nan")] * 3, [2.0] * 3, [0.5] * 3]])
        self.assertEqual(
            decode(png_of(image, "HWC")[0])[2], [(0, 0, 0, 255), (255, 255, 255, 255), (128, 128, 128, 255)]
        )

    @needs_numpy
    def test_grey_and_rgba_images_keep_their_channels(self):
        import numpy as np

        grey = np.array([[0, 128], [255, 7]], dtype=np.uint8)
        self.assertEqual(decode(png_of(grey)[0])[2], [(0, 0, 0, 255), (128, 128, 128, 255), (255,) * 4, (7, 7, 7, 255)])
        rgba_image = np.arange(2 * 2 * 4, dtype=np.uint8).reshape(2, 2, 4) * 10
        self.assertEqual(decode(png_of(rgba_image)[0])[2], [tuple(px) for px in rgba_image.reshape(-1, 4).tolist()])

    @needs_torch
    def test_torch_chw_tensors_decode_to_the_same_pixels(self):
        import torch

        chw = torch.tensor(HWC, dtype=torch.float32).permute(2, 0, 1) / 127.5 - 1
        self.assertEqual(decode(png_of(chw.requires_grad_())[0]), (6, 5, rgba(HWC)))

    @needs_numpy
    def test_a_batch_is_tiled_into_a_grid_of_up_to_eight_columns(self):
        import numpy as np

        batch = np.stack([np.full((3, 2, 2), i * 20, dtype=np.uint8) for i in range(10)])  # 10 × C×H×W
        png, meta = png_of(batch)
        width, height, pixels = decode(png)
        self.assertEqual((width, height), (16, 4))
        self.assertEqual((meta["grid_rows"], meta["grid_columns"], meta["images"]), (2, 8, 10))
        self.assertEqual(pixels[0], (0, 0, 0, 255))
        self.assertEqual(pixels[2 * 16 + 2], (180, 180, 180, 255))  # image 9 starts row 2 at column 1
        self.assertEqual(pixels[3 * 16 + 15], (0, 0, 0, 255))  # past the last image: black

    @needs_numpy
    def test_dataformats_settles_an_ambiguous_shape(self):
        import numpy as np

        image = np.zeros((3, 5, 3), dtype=np.uint8)
        image[0] = 255  # CHW: the red plane is full
        self.assertEqual(decode(png_of(image, "CHW")[0])[:2], (3, 5))
        self.assertEqual(decode(png_of(image, "HWC")[0])[:2], (5, 3))
        self.assertEqual(decode(png_of(image, "CHW")[0])[2][0], (255, 0, 0, 255))

    def test_png_bytes_pass_through_unchanged(self):
        png = png_of(HWC)[0]
        self.assertEqual(png_of(png)[0], png)

    @needs_numpy
    def test_without_numpy_and_torch_the_same_pixels_are_encoded(self):
        import numpy as np

        child = python_child(
            "import sys; sys.modules['numpy'] = None; sys.modules['torch'] = None\n"
            "import json, base64; from ganwatch.images import png_of\n"
            "print('PNG ' + base64.b64encode(png_of(json.loads(sys.argv[1]))[0]).decode())",
            json.dumps((np.array(HWC, dtype=np.float64) / 127.5 - 1).tolist()),
        )
        png = base64.b64decode(read_report(child, "PNG "))
        end_child(child)
        self.assertEqual(decode(png), (6, 5, rgba(HWC)))


class LogImageTest(unittest.TestCase):
    def test_an_image_reaches_the_server_with_its_kind_epoch_step_and_meta(self):
        server = shared_server()
        run = ganwatch.init(name="images", server=server.url, spool=temp_dir())
        run.log_image(HWC, epoch=5, step=1200, kind="samples", meta={"rows": ["input", "fake"]})
        self.assertTrue(run.finish(timeout=WAIT))
        media = server.api("GET", f"/runs/{run.id}/media")[1]["media"]
        self.assertEqual([(m["kind"], m["epoch"], m["step"]) for m in media], [("samples", 5, 1200)])
        self.assertEqual(media[0]["meta"], {"width": 6, "height": 5, "channels": 3, "rows": ["input", "fake"]})
        with urllib.request.urlopen(server.url + media[0]["url"]) as res:
            self.assertEqual(decode(res.read()), (6, 5, rgba(HWC)))

    def test_an_image_logged_twice_with_the_same_key_replaces_the_first(self):
        server = shared_server()
        run = ganwatch.init(name="images", server=server.url, spool=temp_dir())
        run.log_image([[0]], epoch=1, step=10)
        run.log_image([[255]], epoch=1, step=10)
        self.assertTrue(run.finish(timeout=WAIT))
        media = server.api("GET", f"/runs/{run.id}/media")[1]["media"]
        self.assertEqual(len(media), 1)
        with urllib.request.urlopen(server.url + media[0]["url"]) as res:
            self.assertEqual(decode(res.read())[2], [(255, 255, 255, 255)])


if __name__ == "__main__":
    unittest.main()
