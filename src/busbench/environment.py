"""What a result was computed with: library versions, machine, git commit."""

from __future__ import annotations

import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import torch

from busbench.version import __version__

LIBRARIES = ("torch", "numpy", "scipy", "pandas", "opencv-python-headless", "albumentations", "pillow", "pydantic")


def git_commit() -> str | None:
    """The commit of the git checkout busbench runs from (an editable install, or ``src/`` on the path),
    if there is one. An installed busbench inside another repository (a project's ``.venv/``, untracked
    there) is not that repository's code: its commit would be the project's, so None."""
    here = Path(__file__).resolve()
    try:
        tracked = subprocess.run(["git", "ls-files", "--error-unmatch", here.name], cwd=here.parent,
                                 capture_output=True, text=True, timeout=10, check=False)
        if tracked.returncode != 0:
            return None
        done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here.parent, capture_output=True, text=True,
                              timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() or None if done.returncode == 0 else None


def environment(device: torch.device | None = None) -> dict[str, object]:
    """Versions and machine; ``cuda`` names the GPU ``device`` is (the current one when not given),
    not GPU 0, which a run on ``cuda:1`` never used."""
    versions: dict[str, str | None] = {}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {**_machine(device), "platform": platform.platform(), "libraries": versions}


def _machine(device: torch.device | None) -> dict[str, str | int | None]:
    """The fields that tell machines and software apart."""
    return {"busbench": __version__, "git_commit": git_commit(), "python": sys.version.split()[0],
            "processor": processor_name(), "torch_threads": torch.get_num_threads(), "cuda": _gpu_name(device)}


def processor_name() -> str:
    """The CPU's marketing name ("AMD EPYC 7763 64-Core Processor"): /proc/cpuinfo's model name on
    Linux (platform.processor() there is only the architecture), else the platform's, else the architecture."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text(errors="replace").splitlines():
            if line.lower().startswith(("model name", "hardware")) and ":" in line:
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def _gpu_name(device: torch.device | None) -> str | None:
    if not torch.cuda.is_available() or (device is not None and device.type != "cuda"):
        return None
    return torch.cuda.get_device_name(device)


def fold_environment(device: torch.device, precision: str) -> dict[str, str | int | None]:
    """What trained one fold model (``done.json``): the machine and software, the device, torch's
    version and the precision."""
    return {**_machine(device), "device": str(device), "torch": torch.__version__, "precision": precision}
