"""What `pip install .[examples]` and `make` install (setup.py read by running it
with `setuptools.setup` captured)."""

import os
import re
import runpy

import setuptools

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _setup_kwargs(monkeypatch):
    captured = {}
    monkeypatch.setattr(setuptools, "setup", lambda **kw: captured.update(kw))
    monkeypatch.chdir(ROOT)
    runpy.run_path(os.path.join(ROOT, "setup.py"), run_name="__main__")
    return captured


def test_examples_extra_brings_tensorboard_but_no_second_tensorflow(monkeypatch):
    extras = _setup_kwargs(monkeypatch)["extras_require"]
    names = [re.split(r"[<>=!~\[ ]", r)[0] for r in extras["examples"]]
    assert "tensorboard" in names and "matplotlib" in names   # the tb/ viewer, curves.png
    # tensorboard's own requirements name no tensorflow wheel (checked on 2.21.0's
    # metadata); the extras must not either, or pip pulls `tensorflow` beside
    # `tensorflow-cpu`.
    assert not any(n.startswith("tensorflow") for n in names)


def test_the_makefile_installs_the_examples_extra():
    with open(os.path.join(ROOT, "Makefile")) as f:
        makefile = f.read()
    assert re.search(r'pip install .*-e "\.\[[^\]]*examples[^\]]*\]"', makefile)


def test_every_subpackage_is_installed(monkeypatch):
    packages = set(_setup_kwargs(monkeypatch)["packages"])
    on_disk = {os.path.relpath(folder, ROOT).replace(os.sep, ".")
               for folder, _, files in os.walk(os.path.join(ROOT, "awdrnn"))
               if "__init__.py" in files}
    assert {"awdrnn", "awdrnn.data", "awdrnn.kernels", "awdrnn.lm", "awdrnn.text",
            "awdrnn.training"} <= on_disk
    assert packages == on_disk
