"""Specification of Run.log_histogram() against a real server: lists, numpy arrays and torch tensors are bucketed as
the protocol does it (the same edges, so the server keeps them as just min and max), NaN and ±inf are counted apart,
histograms logged while the server is down arrive once it is back, and bad input is refused at the call."""

from __future__ import annotations

import json
import math
import subprocess
import unittest

from support import NODE, ROOT, WAIT, Server, needs_numpy, needs_torch, shared_server, temp_dir  # first: sys.path

import ganwatch


def reference(values, buckets):
    """protocol/histogram.ts's histogramOf of the values, computed by Node: what the Python client must agree with."""
    script = (
        "import { histogramOf } from './protocol/histogram.ts';"
        "const [values, buckets] = JSON.parse(process.argv[1]);"
        "console.log(JSON.stringify(histogramOf(values.map(Number), buckets)));"
    )
    wire = [v if math.isfinite(v) else str(v) for v in values]
    out = subprocess.run(
        [NODE, "--import", "tsx", "--input-type=module", "-e", script, json.dumps([wire, buckets])],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


def read(server, run_id, name, query=""):
    status, body = server.api("GET", f"/runs/{run_id}/distributions?name={name}{query}")
    assert status == 200, body
    return body


class LogHistogramTest(unittest.TestCase):
    def test_a_list_is_bucketed_as_the_protocol_does_it_and_round_trips(self):
        server = shared_server()
        run = ganwatch.init(name="hist", server=server.url, spool=temp_dir())
        values = [math.sin(i * 0.7) * 3 + i / 100 for i in range(500)] + [float("nan"), float("inf")]
        run.log_histogram("D/real", values, step=4, buckets=16)
        run.log_histogram("D/real", [2.5, 2.5], step=5)
        self.assertTrue(run.finish(timeout=WAIT))
        body = read(server, run.id, "D/real")
        self.assertEqual(body["stored"], 2)
        first, second = body["records"]
        expected = reference(values, 16)
        self.assertEqual((first["step"], first["edges"], first["counts"]), (4, expected["edges"], expected["counts"]))
        self.assertEqual(first["nonFinite"], 2)
        self.assertEqual((second["edges"], second["counts"]), ([2.5, 2.5], [2]))
        status, names = server.api("GET", f"/runs/{run.id}/distributions/names")
        self.assertEqual(names["names"], [{"name": "D/real", "records": 2, "firstStep": 4, "lastStep": 5}])

    @needs_numpy
    def test_a_numpy_array_of_any_shape_gives_the_same_histogram_as_its_list(self):
        import numpy as np

        server = shared_server()
        run = ganwatch.init(name="hist-numpy", server=server.url, spool=temp_dir())
        array = np.random.default_rng(3).normal(size=(40, 25)).astype(np.float32)
        run.log_histogram("w", array, step=1)
        self.assertTrue(run.finish(timeout=WAIT))
        record = read(server, run.id, "w")["records"][0]
        expected = reference([float(v) for v in array.ravel()], 64)
        self.assertEqual((record["edges"], record["counts"]), (expected["edges"], expected["counts"]))
        self.assertEqual(sum(record["counts"]), 1000)

    @needs_torch
    def test_a_torch_tensor_with_gradients_is_read_on_the_cpu(self):
        import torch

        server = shared_server()
        run = ganwatch.init(name="hist-torch", server=server.url, spool=temp_dir())
        weights = torch.nn.Linear(30, 20).weight  # requires grad
        run.log({"loss": 1.0}, step=0)
        run.log_histogram("G/weights", weights, buckets=32)  # at the last step logged
        self.assertTrue(run.finish(timeout=WAIT))
        record = read(server, run.id, "G/weights")["records"][0]
        values = [float(v) for v in weights.detach().double().flatten().tolist()]
        expected = reference(values, 32)
        self.assertEqual(record["step"], 0)
        self.assertEqual((record["edges"], record["counts"]), (expected["edges"], expected["counts"]))

    def test_histograms_logged_while_the_server_is_down_arrive_once_it_is_back(self):
        server = Server()
        try:
            run = ganwatch.init(name="hist-outage", server=server.url, spool=temp_dir())
            run.log_histogram("w", [0.0, 1.0], step=0)
            self.assertTrue(run.flush(WAIT))
            server.kill()
            for step in range(1, 201):
                run.log_histogram("w", [step, step * 2.0, step * 3.0], step=step, buckets=4)
            self.assertFalse(run.flush(timeout=0))
            server.restart()
            self.assertTrue(run.finish(timeout=WAIT))
            body = read(server, run.id, "w", "&max=10000")
            self.assertEqual([r["step"] for r in body["records"]], list(range(201)))
            self.assertEqual(body["records"][200]["edges"], [200, 300, 400, 500, 600])
        finally:
            server.stop()

    def test_bad_input_is_refused_at_the_call(self):
        server = shared_server()
        run = ganwatch.init(name="hist-bad", server=server.url, spool=temp_dir())
        for call, pattern in [
            (lambda: run.log_histogram("bad name", [1.0], step=0), "metric name"),
            (lambda: run.log_histogram("ok", [1.0], step=-1), "step"),
            (lambda: run.log_histogram("ok", [1.0], step=0, buckets=0), "buckets"),
            (lambda: run.log_histogram("ok", [1.0], step=0, buckets=513), "buckets"),
            (lambda: run.log_histogram("ok", ["x"], step=0), "number"),
            (lambda: run.log_histogram("ok", 3.0, step=0), "values"),
        ]:
            with self.assertRaisesRegex(ganwatch.InputError, pattern):
                call()
        self.assertTrue(run.finish(timeout=WAIT))
        self.assertEqual(server.api("GET", f"/runs/{run.id}/distributions/names")[1]["names"], [])


if __name__ == "__main__":
    unittest.main()
