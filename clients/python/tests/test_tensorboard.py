"""Specification of ganwatch.tensorboard.SummaryWriter: a drop-in for torch.utils.tensorboard.SummaryWriter (the same
methods with the same parameters, checked against PyTorch's own source), recording to ganwatch."""

from __future__ import annotations

import ast
import inspect
import os
import unittest
import warnings

from support import export_points, needs_numpy, needs_torch, shared_server, temp_dir  # first: sys.path

from ganwatch.tensorboard import SummaryWriter


def torch_writer_source() -> str | None:
    """PyTorch's writer.py, read as text: importing it needs the tensorboard package, which is not installed here."""
    try:
        import importlib.util

        spec = importlib.util.find_spec("torch")
    except ImportError:
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    path = os.path.join(spec.submodule_search_locations[0], "utils", "tensorboard", "writer.py")
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as file:
        return file.read()


def writer(**kwargs) -> SummaryWriter:
    server = shared_server()
    return SummaryWriter(server=server.url, spool=temp_dir(), **kwargs)


class SignatureTest(unittest.TestCase):
    @unittest.skipIf(torch_writer_source() is None, "PyTorch's tensorboard writer source is not installed")
    def test_every_public_method_of_pytorchs_summary_writer_has_the_same_parameters(self):
        tree = ast.parse(torch_writer_source())
        cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "SummaryWriter")
        methods = [
            f
            for f in cls.body
            if isinstance(f, ast.FunctionDef)
            and (not f.name.startswith("_") or f.name in ("__init__", "__enter__", "__exit__"))
        ]
        self.assertGreater(len(methods), 25)
        for method in methods:
            with self.subTest(method=method.name):
                ours = getattr(SummaryWriter, method.name)
                params = [
                    p
                    for p in inspect.signature(ours).parameters.values()
                    if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
                ]
                names = [a.arg for a in method.args.args]
                self.assertEqual([p.name for p in params], names)
                defaults = [ast.literal_eval(d) for d in method.args.defaults]
                ours_defaults = [p.default for p in params if p.default is not p.empty]
                self.assertEqual(ours_defaults, defaults)


class RecordingTest(unittest.TestCase):
    def test_the_run_is_named_after_the_last_folder_of_log_dir(self):
        w = writer(log_dir="runs/facades-lr1e-4")
        server = shared_server()
        self.assertEqual(server.api("GET", f"/runs/{w.run.id}")[1]["name"], "facades-lr1e-4")
        self.assertEqual(w.get_logdir(), "runs/facades-lr1e-4")
        w.close()

    def test_add_scalar_and_add_scalars_record_metrics_at_their_steps(self):
        w = writer(log_dir="runs/scalars")
        for step in range(3):
            w.add_scalar("loss/D", 1.0 / (step + 1), step)
            w.add_scalars("acc", {"real": 0.5, "fake": 0.25}, global_step=step)
        w.close()
        points = export_points(shared_server(), w.run.id)
        self.assertEqual(points[("loss/D", 2)], 1 / 3)
        self.assertEqual((points[("acc/real", 1)], points[("acc/fake", 1)]), (0.5, 0.25))
        self.assertEqual(len(points), 9)

    def test_scalars_without_a_step_take_the_next_step_of_their_tag(self):
        w = writer()
        for value in (1.0, 2.0, 3.0):
            w.add_scalar("a", value)
        w.close()
        self.assertEqual(export_points(shared_server(), w.run.id), {("a", 0): 1, ("a", 1): 2, ("a", 2): 3})

    def test_tags_with_other_characters_become_metric_names_with_one_warning(self):
        w = writer()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            w.add_scalar("Loss (train) D", 1.0, 0)
            w.add_scalar("Loss (train) D", 2.0, 1)
        w.close()
        self.assertEqual(len(caught), 1)
        self.assertIn("Loss__train__D", str(caught[0].message))
        self.assertEqual(set(export_points(shared_server(), w.run.id)), {("Loss__train__D", 0), ("Loss__train__D", 1)})

    @needs_torch
    def test_add_image_and_add_images_record_pngs_per_tag_and_step(self):
        import torch

        w = writer()
        w.add_image("samples", torch.rand(3, 8, 8), 100)
        w.add_images("fake/B", torch.rand(4, 3, 8, 8), global_step=100)
        w.add_image("hwc", torch.rand(8, 8, 3), 7, dataformats="HWC")
        w.close()
        media = shared_server().api("GET", f"/runs/{w.run.id}/media")[1]["media"]
        found = {(m["kind"], m["step"], m["meta"]["width"], m["meta"]["height"], m["meta"]["tag"]) for m in media}
        self.assertEqual(
            found, {("samples", 100, 8, 8, "samples"), ("fake_B", 100, 32, 8, "fake/B"), ("hwc", 7, 8, 8, "hwc")}
        )

    @needs_torch
    def test_add_embedding_records_latent_codes_with_metadata_as_labels(self):
        import torch

        w = writer()
        w.add_embedding(torch.randn(6, 8), metadata=["cat", "dog", "cat", "bird", "dog", "cat"], global_step=3)
        w.add_embedding(torch.randn(3, 8), metadata=[2, 0, 1], global_step=4)
        w.close()
        server = shared_server()
        self.assertEqual(server.api("GET", f"/runs/{w.run.id}/latents/3")[1]["labels"], [0, 1, 0, 2, 1, 0])
        self.assertEqual(server.api("GET", f"/runs/{w.run.id}/latents/4")[1]["labels"], [2, 0, 1])
        config = server.api("GET", f"/runs/{w.run.id}")[1]["config"]
        self.assertEqual(config["embedding/default/labels"], ["cat", "dog", "bird"])

    def test_add_hparams_joins_the_config_and_records_the_metrics(self):
        w = writer()
        w.add_scalar("loss", 1.0, 50)
        w.add_hparams({"lr": 0.1, "bsize": 16}, {"hparam/fid": 42.5})
        w.close()
        server = shared_server()
        self.assertEqual(server.api("GET", f"/runs/{w.run.id}")[1]["config"], {"lr": 0.1, "bsize": 16})
        self.assertEqual(export_points(server, w.run.id)[("hparam/fid", 50)], 42.5)

    def test_add_hparams_refuses_what_tensorboard_refuses(self):
        w = writer()
        with self.assertRaises(TypeError):
            w.add_hparams([("lr", 0.1)], {})
        w.close()

    def test_add_text_goes_to_the_runs_notes(self):
        w = writer()
        w.add_text("note", "D collapsed", 10)
        w.add_text("note", "lowered lr", 20)
        w.close()
        notes = shared_server().api("GET", f"/runs/{w.run.id}")[1]["notes"]
        self.assertEqual(notes, "note (step 10): D collapsed\nnote (step 20): lowered lr")

    @needs_numpy
    def test_what_ganwatch_does_not_store_is_skipped_with_one_warning_per_method(self):
        import numpy as np

        w = writer()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for step in range(3):
                w.add_histogram("weights", np.random.rand(100), step)
            w.add_graph(object())
            w.add_pr_curve("pr", np.array([0, 1]), np.array([0.2, 0.9]), 0)
        w.close()
        self.assertEqual(
            [str(c.message).split(": ", 1)[1] for c in caught],
            [
                "add_histogram() is not stored by ganwatch; skipped",
                "add_graph() is not stored by ganwatch; skipped",
                "add_pr_curve() is not stored by ganwatch; skipped",
            ],
        )

    def test_flush_puts_everything_in_the_spool_and_close_finishes_the_run(self):
        w = writer()
        w.add_scalar("a", 1.0, 0)
        w.flush()
        self.assertEqual(w.run.stats()["buffered_points"], 0)
        w.close()
        self.assertEqual(shared_server().api("GET", f"/runs/{w.run.id}")[1]["status"], "finished")

    def test_a_with_block_closes_the_writer(self):
        with writer() as w:
            w.add_scalar("a", 1.0, 0)
        self.assertEqual(shared_server().api("GET", f"/runs/{w.run.id}")[1]["status"], "finished")


if __name__ == "__main__":
    unittest.main()
