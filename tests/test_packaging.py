"""The wheel holds every module: built, installed non-editable into a scratch venv, and each module imported."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("cadence", "flows", "tasks", "models")

IMPORT_ALL = """
import importlib, json, pkgutil, sys
seen = {}
for name in %r:
    package = importlib.import_module(name)
    seen[name] = package.__file__
    for info in pkgutil.walk_packages(package.__path__, name + "."):
        seen[info.name] = importlib.import_module(info.name).__file__
print(json.dumps(seen))
"""


@pytest.mark.slow
def test_the_wheel_installs_and_imports_every_module(tmp_path: Path) -> None:
    source = tmp_path / "source"
    for name in PACKAGES:
        shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                    str(tmp_path / "dist"), str(source)], check=True, capture_output=True, timeout=300)
    (wheel,) = (tmp_path / "dist").glob("cadence-*.whl")

    scratch = tmp_path / "venv"
    venv.create(scratch, with_pip=False)
    python = scratch / "bin" / "python"
    site = Path(subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               check=True, capture_output=True, text=True).stdout.strip())
    # The dependencies come from this venv; its editable install of cadence is not read (a .pth line adds a
    # path, it does not run the .pth files found there).
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q", str(wheel)],
                   check=True, capture_output=True, timeout=300)

    run = subprocess.run([python, "-c", IMPORT_ALL % (PACKAGES,)], cwd=tmp_path, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    modules = json.loads(run.stdout.strip().splitlines()[-1])
    outside = {name: path for name, path in modules.items() if not Path(path).is_relative_to(site)}
    assert not outside, f"imported from outside the installed wheel: {outside}"
    expected = {p.relative_to(ROOT).with_suffix("").as_posix().replace("/", ".").removesuffix(".__init__")
                for name in PACKAGES for p in (ROOT / name).rglob("*.py")
                if "migrations" not in p.parts and "__pycache__" not in p.parts}
    assert expected <= set(modules), f"missing from the wheel: {sorted(expected - set(modules))}"
