"""Specification of ganwatch.init(), Run.log() and Run.finish() against a real server."""

from __future__ import annotations

import argparse
import math
import os
import unittest
import urllib.request

from support import WAIT, Server, export_points, needs_numpy, needs_torch, shared_server, temp_dir  # first: sys.path

import ganwatch


def start(**kwargs):
    server = shared_server()
    kwargs.setdefault("name", "test")
    return ganwatch.init(server=server.url, spool=temp_dir(), **kwargs), server


class InitTest(unittest.TestCase):
    def test_init_creates_a_running_run_with_its_name_config_tags_and_host(self):
        run, server = start(name="facades", config={"lr_d": 1e-4, "nested": {"betas": (0.5, 0.999)}}, tags=["facades"])
        status, stored = server.api("GET", f"/runs/{run.id}")
        self.assertEqual(status, 200)
        self.assertEqual(stored["name"], "facades")
        self.assertEqual(stored["status"], "running")
        self.assertEqual(stored["config"], {"lr_d": 1e-4, "nested": {"betas": [0.5, 0.999]}})
        self.assertEqual(stored["tags"], ["facades"])
        self.assertTrue(stored["host"])
        run.finish(timeout=WAIT)

    def test_config_may_be_an_argparse_namespace(self):
        run, server = start(config=argparse.Namespace(lambda_L1=10.0, gan_mode="lsgan"))
        self.assertEqual(server.api("GET", f"/runs/{run.id}")[1]["config"], {"lambda_L1": 10.0, "gan_mode": "lsgan"})
        run.finish(timeout=WAIT)

    @needs_numpy
    def test_config_values_from_numpy_become_json_numbers(self):
        import numpy as np

        run, server = start(config={"lr": np.float32(0.5), "size": np.int64(256), "nan": float("nan")})
        self.assertEqual(server.api("GET", f"/runs/{run.id}")[1]["config"], {"lr": 0.5, "size": 256, "nan": "NaN"})
        run.finish(timeout=WAIT)

    def test_url_is_the_runs_page_on_the_dashboard(self):
        run, server = start()
        self.assertEqual(run.url, f"{server.url}/#/runs/{run.id}")
        with urllib.request.urlopen(run.url.split("#")[0]) as res:
            self.assertEqual(res.status, 200)
        run.finish(timeout=WAIT)

    def test_the_server_address_comes_from_GANWATCH_SERVER_when_not_given(self):
        server = shared_server()
        os.environ["GANWATCH_SERVER"] = server.url
        try:
            run = ganwatch.init(name="from-env", spool=temp_dir())
        finally:
            del os.environ["GANWATCH_SERVER"]
        self.assertEqual(run.server, server.url)
        run.finish(timeout=WAIT)

    def test_an_unreachable_server_is_a_clear_error_at_init(self):
        with self.assertRaises(ganwatch.ServerError) as caught:
            ganwatch.init(name="x", server="http://127.0.0.1:9", spool=temp_dir())
        self.assertEqual(caught.exception.code, "GW_ERR_SERVER")
        self.assertIn("offline=True", str(caught.exception))


class TokenTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server(token="s3cret")

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def test_the_token_from_GANWATCH_TOKEN_is_sent_with_every_write(self):
        os.environ["GANWATCH_TOKEN"] = "s3cret"
        try:
            run = ganwatch.init(name="token", server=self.server.url, spool=temp_dir())
        finally:
            del os.environ["GANWATCH_TOKEN"]
        run.log({"a": 1.0}, step=0)
        self.assertTrue(run.finish(timeout=WAIT))
        self.assertEqual(export_points(self.server, run.id), {("a", 0): 1})

    def test_a_missing_token_is_refused_at_init_with_the_servers_reason(self):
        with self.assertRaises(ganwatch.ServerError) as caught:
            ganwatch.init(name="x", server=self.server.url, token="wrong", spool=temp_dir())
        self.assertIn("GW_ERR_UNAUTHORIZED", str(caught.exception))


class LogTest(unittest.TestCase):
    def test_every_value_is_stored_exactly_with_its_step(self):
        run, server = start()
        values = {}
        for step in range(500):
            row = {"loss/D": 1.0 / (step + 1), "D_real_acc": step % 2, "big": 1e300 * step}
            run.log(row, step=step)
            values.update({(name, step): value for name, value in row.items()})
        self.assertTrue(run.finish(timeout=WAIT))
        self.assertEqual(export_points(server, run.id), values)

    def test_nan_and_infinities_are_kept_as_the_wire_strings(self):
        run, server = start()
        run.log({"a": float("nan"), "b": math.inf, "c": -math.inf, "d": 0.5}, step=3)
        self.assertTrue(run.finish(timeout=WAIT))
        self.assertEqual(
            export_points(server, run.id), {("a", 3): "NaN", ("b", 3): "Infinity", ("c", 3): "-Infinity", ("d", 3): 0.5}
        )

    @needs_numpy
    def test_numpy_scalars_and_one_element_arrays_are_numbers(self):
        import numpy as np

        run, server = start()
        run.log(
            {
                "f32": np.float32(0.25),
                "f64": np.float64(-2.5),
                "i": np.int64(7),
                "arr": np.array([3.5]),
                "nan": np.float32("nan"),
                "bool": np.bool_(True),
            },
            step=0,
        )
        self.assertTrue(run.finish(timeout=WAIT))
        self.assertEqual(
            export_points(server, run.id),
            {("f32", 0): 0.25, ("f64", 0): -2.5, ("i", 0): 7, ("arr", 0): 3.5, ("nan", 0): "NaN", ("bool", 0): 1},
        )

    @needs_torch
    def test_torch_scalars_are_numbers_even_when_they_require_grad(self):
        import torch

        run, server = start()
        weight = torch.tensor(1.5, requires_grad=True)
        run.log(
            {
                "loss": weight * 2,
                "n": torch.tensor(4),
                "one": torch.ones(1, 1) * 0.5,
                "inf": torch.tensor(float("inf")),
            },
            step=1,
        )
        self.assertTrue(run.finish(timeout=WAIT))
        self.assertEqual(
            export_points(server, run.id), {("loss", 1): 3, ("n", 1): 4, ("one", 1): 0.5, ("inf", 1): "Infinity"}
        )

    def test_a_step_left_out_is_the_one_after_the_last_step_logged(self):
        run, server = start()
        run.log({"a": 1.0})
        run.log({"a": 2.0})
        run.log({"a": 3.0}, step=10)
        run.log({"a": 4.0})
        self.assertEqual(run.step, 11)
        self.assertTrue(run.finish(timeout=WAIT))
        self.assertEqual(export_points(server, run.id), {("a", 0): 1, ("a", 1): 2, ("a", 10): 3, ("a", 11): 4})

    def test_logging_the_same_step_again_replaces_the_value(self):
        run, server = start()
        run.log({"a": 1.0}, step=5)
        run.flush(WAIT)
        run.log({"a": 2.0}, step=5)
        self.assertTrue(run.finish(timeout=WAIT))
        self.assertEqual(export_points(server, run.id), {("a", 5): 2})

    def test_wall_time_is_stored_when_given(self):
        run, server = start()
        run.log({"a": 1.0}, step=0, wall=1_700_000_000.5)
        self.assertTrue(run.finish(timeout=WAIT))
        _, body = server.api("GET", f"/runs/{run.id}/export?format=json")
        self.assertEqual(body["points"][0]["wall"], 1_700_000_000.5)

    def test_many_points_arrive_in_batches_within_the_servers_limits(self):
        run, server = start()
        for step in range(25_000):
            run.log({"a": step, "b": -step}, step=step)
        self.assertTrue(run.finish(timeout=120))
        stats = run.stats()
        self.assertEqual((stats["pushed"], stats["acked"], stats["rejected"]), (25_000, 25_000, 0))
        metrics = server.api("GET", f"/runs/{run.id}/metrics")[1]["metrics"]
        self.assertEqual([m["count"] for m in metrics], [25_000, 25_000])


class FinishTest(unittest.TestCase):
    def test_finish_waits_for_every_acknowledgement_and_marks_the_run_finished(self):
        run, server = start()
        for step in range(100):
            run.log({"a": step}, step=step)
        self.assertTrue(run.finish(timeout=WAIT))
        stored = server.api("GET", f"/runs/{run.id}")[1]
        self.assertEqual((stored["status"], stored["last_step"]), ("finished", 99))
        self.assertIsNotNone(stored["finished_at"])
        self.assertEqual(run.stats()["acked"], 100)

    def test_finish_twice_does_nothing_more(self):
        run, _ = start()
        self.assertTrue(run.finish(timeout=WAIT))
        self.assertTrue(run.finish(timeout=WAIT))

    def test_finish_failed_marks_the_run_failed(self):
        run, server = start()
        run.finish("failed", timeout=WAIT)
        self.assertEqual(server.api("GET", f"/runs/{run.id}")[1]["status"], "failed")

    def test_logging_after_finish_is_refused(self):
        run, _ = start()
        run.finish(timeout=WAIT)
        with self.assertRaises(ganwatch.InputError):
            run.log({"a": 1.0}, step=0)

    def test_a_with_block_finishes_the_run(self):
        server = shared_server()
        with ganwatch.init(name="with", server=server.url, spool=temp_dir()) as run:
            run.log({"a": 1.0}, step=0)
        self.assertEqual(server.api("GET", f"/runs/{run.id}")[1]["status"], "finished")
        self.assertEqual(export_points(server, run.id), {("a", 0): 1})

    def test_a_with_block_left_by_an_exception_marks_the_run_failed(self):
        server = shared_server()
        with self.assertRaises(RuntimeError):
            with ganwatch.init(name="with", server=server.url, spool=temp_dir()) as run:
                run.log({"a": 1.0}, step=0)
                raise RuntimeError("diverged")
        self.assertEqual(server.api("GET", f"/runs/{run.id}")[1]["status"], "failed")
        self.assertEqual(export_points(server, run.id), {("a", 0): 1})

    def test_update_config_merges_keys_into_the_runs_config(self):
        run, server = start(config={"lr": 0.1})
        run.update_config({"best_fid": 31.5})
        self.assertTrue(run.finish(timeout=WAIT))
        self.assertEqual(server.api("GET", f"/runs/{run.id}")[1]["config"], {"lr": 0.1, "best_fid": 31.5})
