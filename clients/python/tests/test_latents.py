"""Specification of Run.log_latents(): N×D codes from lists, numpy or torch, with optional integer labels, stored as
the float32 values given."""

from __future__ import annotations

import struct
import unittest

from support import WAIT, needs_numpy, needs_torch, shared_server, temp_dir  # first: sys.path

import ganwatch


def f32(value: float) -> float:
    return struct.unpack("f", struct.pack("f", value))[0]


class LatentsTest(unittest.TestCase):
    def setUp(self):
        self.server = shared_server()
        self.gw = ganwatch.init(name="latents", server=self.server.url, spool=temp_dir())

    def stored(self, epoch: int) -> dict:
        self.assertTrue(self.gw.finish(timeout=WAIT))
        status, body = self.server.api("GET", f"/runs/{self.gw.id}/latents/{epoch}")
        self.assertEqual(status, 200, body)
        return body

    def test_codes_as_lists_arrive_as_float32_with_their_labels(self):
        codes = [[0.1, -2.5, 1e-7], [3.0, 0.333333333, -0.0]]
        self.gw.log_latents(codes, labels=[0, 3], epoch=5, step=1200)
        body = self.stored(5)
        self.assertEqual((body["dim"], body["count"], body["step"], body["labels"]), (3, 2, 1200, [0, 3]))
        self.assertEqual(body["codes"], [[f32(v) for v in row] for row in codes])

    @needs_numpy
    def test_numpy_codes_and_labels_arrive_exactly_as_float32(self):
        import numpy as np

        rng = np.random.default_rng(0)
        codes = rng.standard_normal((300, 8)).astype(np.float32)
        labels = rng.integers(0, 6, 300)
        self.gw.log_latents(codes, labels=labels, epoch=2)
        body = self.stored(2)
        self.assertEqual(body["codes"], codes.astype(np.float64).tolist())
        self.assertEqual(body["labels"], labels.tolist())

    @needs_torch
    def test_torch_codes_that_require_grad_arrive(self):
        import torch

        mu = torch.randn(16, 8, requires_grad=True) * 2
        self.gw.log_latents(mu, labels=torch.arange(16) % 4, epoch=0)
        body = self.stored(0)
        self.assertEqual(body["codes"], mu.detach().float().double().tolist())
        self.assertEqual(body["labels"], [i % 4 for i in range(16)])

    def test_labels_are_optional(self):
        self.gw.log_latents([[1.0, 2.0]], epoch=1)
        self.assertIsNone(self.stored(1)["labels"])


if __name__ == "__main__":
    unittest.main()
