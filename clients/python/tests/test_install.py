"""Specification: ``pip install --no-build-isolation ./clients/python`` (offline, with the system's setuptools)
installs a working package, with the SummaryWriter drop-in and the ``python -m ganwatch`` command."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import unittest

from support import CLIENT, WAIT_TIMEOUT_S, export_points, shared_server, temp_dir  # first: sys.path

USE_INSTALLED = """
import sys, ganwatch
from ganwatch.tensorboard import SummaryWriter
assert ganwatch.__file__.startswith(sys.argv[2]), ganwatch.__file__
with SummaryWriter("runs/installed", server=sys.argv[1], spool=sys.argv[3]) as w:
    w.add_scalar("a", 1.5, 3)
print("RUN", w.run.id)
"""


@unittest.skipUnless(
    importlib.util.find_spec("pip") and importlib.util.find_spec("setuptools"),
    "pip and setuptools are not installed (apt-get install python3-pip python3-setuptools)",
)
class InstallTest(unittest.TestCase):
    def test_pip_install_without_build_isolation_gives_a_working_package(self):
        work = temp_dir()
        source = os.path.join(work, "src")
        shutil.copytree(CLIENT, source, ignore=shutil.ignore_patterns("tests", "build", "*.egg-info", "__pycache__"))
        venv = os.path.join(work, "venv")
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", "--system-site-packages", venv], check=True)
        python = os.path.join(venv, "bin", "python")
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        install = subprocess.run(
            [python, "-m", "pip", "install", "--no-build-isolation", "--no-index", "--quiet", source],
            env=env,
            capture_output=True,
            text=True,
            timeout=WAIT_TIMEOUT_S,
        )
        self.assertEqual(install.returncode, 0, install.stderr)
        site = subprocess.run(
            [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        server = shared_server()
        used = subprocess.run(
            [python, "-c", USE_INSTALLED, server.url, site, temp_dir()],
            env=env,
            cwd=work,
            capture_output=True,
            text=True,
            timeout=WAIT_TIMEOUT_S,
        )
        self.assertEqual(used.returncode, 0, used.stderr)
        run_id = used.stdout.split("RUN ", 1)[1].strip()
        self.assertEqual(export_points(server, run_id), {("a", 3): 1.5})
        usage = subprocess.run([python, "-m", "ganwatch"], env=env, cwd=work, capture_output=True, text=True)
        self.assertEqual(usage.returncode, 2)
        self.assertIn("python -m ganwatch sync", usage.stderr)


if __name__ == "__main__":
    unittest.main()
