"""Specification: every Python example of the README's "From Python" section runs as printed, against a real server
(GANWATCH_SERVER points at it, as a user's environment would), and records what it says."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import unittest

from support import CLIENT, HAVE_TORCH, ROOT, WAIT_TIMEOUT_S, shared_server, temp_dir  # first: sys.path


def examples() -> list[str]:
    with open(ROOT / "README.md", encoding="utf-8") as file:
        text = file.read()
    section = text[text.index("\n## From Python\n") :]
    section = section[: section.index("\n## ", 1)]
    return re.findall(r"```python\n(.*?)```", section, re.S)


class ReadmeTest(unittest.TestCase):
    def test_the_section_has_its_four_examples(self):
        self.assertEqual(len(examples()), 4)

    def test_every_example_runs_and_finishes_its_run(self):
        server = shared_server()
        for number, code in enumerate(examples()):
            with self.subTest(example=number, first_line=code.splitlines()[0]):
                if "torch" in code and not HAVE_TORCH:
                    self.skipTest("PyTorch is not installed")
                before = {r["id"] for r in server.api("GET", "/runs")[1]["runs"]}
                done = subprocess.run(
                    [sys.executable, "-c", code],
                    cwd=temp_dir(),
                    env={**os.environ, "PYTHONPATH": str(CLIENT), "GANWATCH_SERVER": server.url},
                    capture_output=True,
                    text=True,
                    timeout=WAIT_TIMEOUT_S,
                )
                self.assertEqual(done.returncode, 0, done.stderr)
                runs = [r for r in server.api("GET", "/runs")[1]["runs"] if r["id"] not in before]
                self.assertEqual(len(runs), 1, runs)
                self.assertEqual(runs[0]["status"], "finished")
                metrics = server.api("GET", f"/runs/{runs[0]['id']}/metrics")[1]["metrics"]
                self.assertGreater(len(metrics), 0)


if __name__ == "__main__":
    unittest.main()
