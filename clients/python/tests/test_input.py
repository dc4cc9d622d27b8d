"""Specification: bad input gets a clear ganwatch.InputError (GW_ERR_MONITOR_INPUT, also a ValueError and a
TypeError) naming what is wrong, raised before anything is recorded: the server ends up with nothing from it."""

from __future__ import annotations

import unittest

from support import HAVE_NUMPY, HAVE_TORCH, WAIT, shared_server, temp_dir  # first: sys.path

import ganwatch


class BadInputTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = shared_server()
        cls.gw = ganwatch.init(name="bad-input", server=cls.server.url, spool=temp_dir())

    @classmethod
    def tearDownClass(cls):
        cls.gw.finish(timeout=WAIT)

    def tearDown(self):
        # Whatever each test tried, the server holds nothing of the run.
        self.assertTrue(self.gw.flush(WAIT))
        self.assertEqual(self.server.api("GET", f"/runs/{self.gw.id}/metrics")[1]["metrics"], [])
        self.assertEqual(self.server.api("GET", f"/runs/{self.gw.id}/media")[1]["media"], [])
        self.assertEqual(self.server.api("GET", f"/runs/{self.gw.id}/latents")[1]["epochs"], [])

    def refused(self, call, *args, mentions: str, **kwargs):
        with self.assertRaises(ganwatch.InputError) as caught:
            call(*args, **kwargs)
        self.assertEqual(caught.exception.code, "GW_ERR_MONITOR_INPUT")
        self.assertIn(mentions, str(caught.exception))
        stats = self.gw.stats()
        self.assertEqual((stats["pushed"], stats["pending_uploads"], stats["buffered_points"]), (0, 0, 0))
        return caught.exception

    def test_bad_metric_names_are_refused_naming_the_pattern(self):
        for name in ("loss D", "", "x" * 129, "naïve", "a:b"):
            with self.subTest(name=name):
                self.refused(self.gw.log, {name: 1.0}, step=0, mentions="metric name")
        self.refused(self.gw.log, {5: 1.0}, step=0, mentions="metric name")

    def test_values_that_are_not_numbers_are_refused_naming_the_metric(self):
        for value in ("0.5", None, [1.0, 2.0], {"a": 1}, 1 + 2j, b"1"):
            with self.subTest(value=value):
                self.refused(self.gw.log, {"loss/D": value}, step=0, mentions="metric 'loss/D'")

    @unittest.skipUnless(HAVE_NUMPY, "numpy is not installed")
    def test_numpy_arrays_of_more_than_one_value_are_refused_with_their_shape(self):
        import numpy as np

        self.refused(self.gw.log, {"a": np.zeros((2, 3))}, step=0, mentions="shape (2, 3)")
        self.refused(self.gw.log, {"a": np.complex64(1j)}, step=0, mentions="real number")

    @unittest.skipUnless(HAVE_TORCH, "PyTorch is not installed")
    def test_torch_tensors_of_more_than_one_value_are_refused(self):
        import torch

        self.refused(self.gw.log, {"a": torch.ones(4)}, step=0, mentions="4 values")

    def test_bad_steps_are_refused(self):
        for step in (-1, 1.5, True, "3", 2**53):
            with self.subTest(step=step):
                self.refused(self.gw.log, {"a": 1.0}, step=step, mentions="step")

    def test_an_empty_step_or_a_non_dict_is_refused(self):
        self.refused(self.gw.log, {}, step=0, mentions="no values")
        self.refused(self.gw.log, [("a", 1.0)], step=0, mentions="dict")
        self.refused(self.gw.log, {"a": 1.0}, step=0, wall=-5, mentions="wall")

    def test_a_step_with_a_bad_value_records_none_of_its_values(self):
        self.refused(self.gw.log, {"good": 1.0, "bad": "x"}, step=0, mentions="metric 'bad'")

    def test_images_of_the_wrong_shape_or_type_are_refused(self):
        cases = [
            ([[[1, 2]] * 5] * 5, "channel axis"),  # 5×5×2
            ([1, 2, 3], "2, 3 or 4 axes"),
            ([[["a"] * 3] * 4] * 4, "numbers"),
            ([[300] * 4] * 4, "[0, 255]"),
            ([[1, 2], [3]], "same length"),
            (b"GIF89a....", "PNG"),
            ("grid.png", "PNG bytes"),
        ]
        if HAVE_NUMPY:
            import numpy as np

            cases += [
                (np.zeros((3, 8, 4)), "ambiguous"),
                (np.zeros((8, 8, 5)), "channel axis"),
                (np.zeros((1, 1, 8, 8, 3)), "2, 3 or 4 axes"),
                (np.zeros((0, 8, 3)), "at least one pixel"),
                (np.array([["a", "b"]]), "numbers"),
                (np.full((4, 4), -3, dtype=np.int16), "[0, 255]"),
            ]
        for image, mentions in cases:
            with self.subTest(mentions=mentions):
                self.refused(self.gw.log_image, image, epoch=0, step=0, mentions=mentions)

    def test_image_kinds_epochs_and_layouts_are_checked(self):
        image = [[0, 255], [255, 0]]
        self.refused(self.gw.log_image, image, epoch=0, step=0, kind="fake/B", mentions="image kind")
        self.refused(self.gw.log_image, image, epoch=-1, step=0, mentions="epoch")
        self.refused(self.gw.log_image, image, epoch=0, step=0, dataformats="CHW", mentions="names 3 axes")
        self.refused(self.gw.log_image, image, epoch=0, step=0, dataformats="XY", mentions="dataformats")
        self.refused(
            self.gw.log_image, [[[1, 2]] * 4] * 4, epoch=0, step=0, dataformats="HWC", mentions="1, 3 or 4 channels"
        )
        self.refused(self.gw.log_image, image, epoch=0, step=0, meta=["x"], mentions="meta")

    def test_latent_codes_of_the_wrong_shape_or_with_bad_labels_are_refused(self):
        codes = [[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]]
        self.refused(self.gw.log_latents, [[0.1, 0.2], [0.3]], mentions="same length")
        self.refused(self.gw.log_latents, [0.1, 0.2], mentions="N×D")
        self.refused(self.gw.log_latents, [[0.1, float("nan")]], mentions="NaN")
        self.refused(self.gw.log_latents, codes, labels=[0, 1], mentions="2 labels for 3")
        self.refused(self.gw.log_latents, codes, labels=[0, -1, 2], mentions="label 1")
        self.refused(self.gw.log_latents, codes, labels=[0, 1.5, 2], mentions="label 1")
        self.refused(self.gw.log_latents, codes, labels="abc", mentions="labels")
        self.refused(self.gw.log_latents, [[0.0] * 1025], mentions="dimension")
        if HAVE_NUMPY:
            import numpy as np

            self.refused(self.gw.log_latents, np.zeros((2, 3, 4)), mentions="2 axes")
            self.refused(self.gw.log_latents, np.zeros((20_001, 2)), mentions="count")

    def test_the_error_is_both_a_value_error_and_a_type_error(self):
        with self.assertRaises(ValueError):
            self.gw.log({"a": "x"}, step=0)
        with self.assertRaises(TypeError):
            self.gw.log({"a": "x"}, step=0)


class BadInitTest(unittest.TestCase):
    def test_bad_init_arguments_are_refused_before_any_request(self):
        url = "http://127.0.0.1:9"  # nothing listens there: a request would fail differently
        for kwargs, mentions in [
            ({"name": ""}, "name"),
            ({"name": 5}, "name"),
            ({"tags": "facades"}, "tags"),
            ({"tags": ["a", "a"]}, "repeat"),
            ({"tags": ["x" * 65]}, "tag"),
            ({"config": [1, 2]}, "config"),
            ({"alerts": "on"}, "alerts"),
        ]:
            with self.subTest(kwargs=kwargs):
                with self.assertRaises(ganwatch.InputError) as caught:
                    ganwatch.init(server=url, spool=temp_dir(), **kwargs)
                self.assertIn(mentions, str(caught.exception))

    def test_bad_server_addresses_are_refused_as_options(self):
        for server in ("127.0.0.1:8080", "ftp://host", "http://", "http://host:port", ""):
            with self.subTest(server=server):
                with self.assertRaises(ganwatch.OptionError) as caught:
                    ganwatch.init(name="x", server=server, spool=temp_dir())
                self.assertEqual(caught.exception.code, "GW_ERR_OPTION")


if __name__ == "__main__":
    unittest.main()
