"""The Python halves of benchmarks/gpu_check.sh: each runs one part's path, writes its figures to
WORK and prints the verdict of benchmarks/gpu_checkers.py (exit 1 on FAIL).

    python benchmarks/gpu_checks.py PART WORK [--device cuda|cpu]

PART: setup, resume, predict, amp, replicas, loader (each runs its path), or cudatests, profile,
compile, train (each judges what gpu_check.sh ran into WORK). --device cpu runs the paths that
can run on the CPU, to test the plumbing; its verdicts say nothing of CUDA.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

import gpu_checkers as judge
from gpu_checkers import Verdict

ROOT = Path(__file__).resolve().parents[1]


def setup(work: Path, device: str) -> Verdict:
    """pyproject's runtime requirements are installed in versions it allows, and busbench is this tree's."""
    import tomllib

    from packaging.requirements import Requirement

    def version_of(name: str) -> str | None:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return None

    requirements = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    verdict = judge.check_setup(requirements, version_of,
                                lambda req, version: Requirement(req).specifier.contains(version, prereleases=True))
    import torch

    import busbench

    if verdict.passed and Path(busbench.__file__).resolve().parents[1] != ROOT / "src":
        return Verdict("setup", False, f"busbench imported from {busbench.__file__}, not {ROOT / 'src'}")
    if verdict.passed and device == "cuda" and not torch.cuda.is_available():
        return Verdict("setup", False, f"torch {torch.__version__} sees no CUDA device")
    return verdict


def _synthetic(work: Path, count: int, size: int) -> tuple[object, object, Path]:
    from busbench.data.cache import build_cache
    from busbench.data.manifest import load_manifest
    from busbench.data.prepare import prepare_dataset
    from busbench.data.split.split_file import SplitSettings, plan_split, write_split

    prepare_dataset("synthetic", work / "raw", work / "manifest", {"count": count, "size": size, "seed": 3})
    manifest = load_manifest(work / "manifest")
    write_split(plan_split(manifest, SplitSettings(folds=2)), work / "split.json")
    return manifest, build_cache(manifest, size, cache_root=work), work / "split.json"


class Interrupted(Exception):
    pass


def _resume_run(amp: str, development: object, cache: object, folder: Path, device: str) -> dict[str, object]:
    """One fold trained uninterrupted, and again stopped after epoch 2 then resumed, on ``device`` in ``amp``."""
    import torch

    from busbench.config import load_config
    from busbench.layout.folders import LAST
    from busbench.train import checkpoint
    from busbench.train.callbacks import EpochRecord
    from busbench.train.trainer import FoldJob, train_fold

    cfg = load_config(None, ["input.size=64", "model.kwargs.base_channels=8", "train.epochs=3", f"train.amp={amp}",
                             f"train.device={device}", "train.workers=2", "train.deterministic=true",
                             "train.patience=null"])
    recipe, where, trained = cfg.training_recipe(), torch.device(device), []

    def stop(record: EpochRecord) -> None:
        if record.epoch == 2:
            raise Interrupted

    def job(name: str) -> FoldJob:
        return FoldJob(development, cache, 1, folder / name)  # type: ignore[arg-type]

    full = train_fold(recipe, job("full"), where)
    try:
        train_fold(recipe, job("resumed"), where, [stop])
    except Interrupted:
        pass
    resumed = train_fold(recipe, job("resumed"), where, [lambda record: trained.append(record.epoch)])
    saved = checkpoint.load(folder / "resumed" / LAST)
    return {"amp": amp, "interrupted_after": 2, "full_epochs": [int(r["epoch"]) for r in full.history],
            "resumed_trained": trained, "resumed_epochs": [int(r["epoch"]) for r in resumed.history],
            "full_dice": full.history[-1]["val_dice"], "resumed_dice": resumed.history[-1]["val_dice"],
            "scaler_scale": saved["scaler"].get("scale")}


def resume(work: Path, device: str) -> Verdict:
    """The real trainer stopped after epoch 2 and resumed, against the same fold uninterrupted,
    deterministic, fp16 (with its scaler) and bf16 on CUDA, fp32 on the CPU."""
    from busbench.data.access import development_split

    manifest, cache, split = _synthetic(Path(tempfile.mkdtemp(prefix="resume-", dir=work)), 60, 64)
    development = development_split(split, manifest)  # type: ignore[arg-type]
    runs = [_resume_run(amp, development, cache, work / f"resume-{amp}", device)
            for amp in (("fp16", "bf16") if device == "cuda" else ("off",))]
    (work / "resume.txt").write_text("\n".join(map(str, runs)) + "\n")
    return judge.check_resume(runs)


def _busbench(log: Path, *args: str) -> str:
    """What ``busbench ARGS`` printed, also appended to ``log``; a failure raises."""
    done = subprocess.run([sys.executable, "-m", "busbench", *args], capture_output=True, text=True, check=False)
    with log.open("a") as file:
        file.write(f"$ busbench {' '.join(args)}\n{done.stdout}{done.stderr}")
    if done.returncode:
        raise RuntimeError(f"busbench {' '.join(args[:2])} exited {done.returncode}: {done.stderr.strip()[-500:]}")
    return done.stdout + done.stderr


def predict(work: Path, device: str) -> Verdict:
    """A demo run trained on ``device``; its cell predicts the same images on ``device`` and on the CPU, both fp32."""
    import numpy as np
    from PIL import Image

    from busbench.data.synthetic import generate_cases

    _busbench(work / "predict-busbench.log", "run", "demo", "--set", f"train.device={device}",
              "--set", "train.epochs=2", "--set", f"output_dir={work / 'predict-run'}")
    cell = next((work / "predict-run").rglob("config.yaml")).parent
    images = work / "predict-images"
    images.mkdir(exist_ok=True)
    for i, case in enumerate(generate_cases(6, 96, seed=9)):
        Image.fromarray(case.image).save(images / f"scan{i}.png")
    precisions = []
    for target in (device, "cpu"):
        said = _busbench(work / "predict-busbench.log", "predict", "--run", str(cell), "--input", str(images),
                         "--out", str(work / f"predict-{target}"), "--device", target, "--amp", "off")
        precisions += re.findall(r"precision: (\w+)", said)[:1]
    agreement = {}
    for path in sorted(images.glob("*.png")):
        masks = [work / f"predict-{target}" / "masks" / path.name for target in (device, "cpu")]
        agreement[path.name] = (judge.mask_agreement(*(np.asarray(Image.open(m)) for m in masks))
                                if all(m.is_file() for m in masks) else None)
    return judge.check_predict(agreement, len(list(images.glob("*.png"))), precisions)


def amp(work: Path, device: str) -> Verdict:
    """A few training steps per model and precision through busbench's train_step, channels-last,
    and what ``amp: auto`` chooses on this device."""
    import torch

    from busbench.losses import build_loss
    from busbench.models import build_model
    from busbench.train.deep_supervision import DeepSupervisionLoss
    from busbench.train.device import choose_precision, place_model
    from busbench.train.trainer import Update, train_step

    where = torch.device(device)
    dtypes = {"fp32": None, "fp16": torch.float16, "bf16": torch.bfloat16} if device == "cuda" else {"fp32": None}
    x = torch.rand(8, 1, 128, 128, device=where).contiguous(memory_format=torch.channels_last)
    mask = (torch.rand(8, 1, 128, 128, device=where) > 0.8).float()
    steps = []
    for name in ("unext", "cmunext"):
        for label, dtype in dtypes.items():
            torch.manual_seed(0)
            model = place_model(build_model(name, in_channels=1), where, True).train()
            scaler = torch.amp.GradScaler(device, enabled=dtype == torch.float16)
            update = Update(DeepSupervisionLoss(build_loss("bce_dice")), torch.optim.AdamW(model.parameters(), lr=1e-3),
                            scaler, dtype, 1.0)
            losses = [float(train_step(model, x, mask, update)) for _ in range(12)]
            steps.append({"model": name, "amp": label, "first_loss": losses[0], "last_loss": losses[-1]})
    auto = choose_precision("auto", where)
    major = torch.cuda.get_device_capability(where)[0] if device == "cuda" else None
    (work / "amp.txt").write_text(f"{steps}\nauto: {auto.name} ({auto.reason}); capability major {major}\n")
    return judge.check_amp(steps, auto.name, major)


def replicas(work: Path, device: str) -> Verdict:
    """Two replicas on GPU 0 through ``parallel_apply(devices=[0, 0])``, as nn.DataParallel runs them,
    each in its own thread: the dtype each computes in under the trainer's AutocastForward."""
    import torch
    from torch import nn
    from torch.nn.parallel import parallel_apply

    from busbench.models.precision import AutocastForward, autocast

    if device != "cuda":
        return Verdict("replicas", False, "needs a CUDA device (parallel_apply runs replicas on GPUs)")

    class Probe(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv, self.seen = nn.Conv2d(1, 4, 3, padding=1), list[str]()

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y: torch.Tensor = self.conv(x)
            self.seen.append(str(y.dtype))
            return y

    seen = {}
    for dtype in (torch.bfloat16, torch.float16):
        probe = Probe().cuda(0)
        replica = AutocastForward(probe, dtype)
        with autocast(torch.device("cuda", 0), dtype):
            parallel_apply([replica, replica], [torch.rand(4, 1, 32, 32, device="cuda:0") for _ in range(2)],
                           devices=[0, 0])
        seen[str(dtype).removeprefix("torch.")] = list(probe.seen)
    (work / "replicas.txt").write_text(f"{seen}\n")
    return judge.check_replicas(seen)


def _timed(device: str, work: Callable[[], object]) -> float:
    import torch

    if device == "cuda":
        torch.cuda.synchronize()
    started = time.perf_counter()
    work()
    if device == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - started


def _loader_ratio(preset: str, cache: object, ids: list[str], device: str) -> dict[str, object]:
    """Training img/s through the trainer's loader (workers auto) against the step alone on one
    batch kept on the device, for one augmentation preset."""
    import torch

    from busbench.augment import PairAugmentation
    from busbench.config import TrainConfig
    from busbench.data.torch_dataset import CachedSegmentationDataset
    from busbench.losses import build_loss
    from busbench.models import build_model
    from busbench.train.deep_supervision import DeepSupervisionLoss
    from busbench.train.device import place_model
    from busbench.train.loaders import training_loader
    from busbench.train.trainer import Update, train_step

    where, dtype = torch.device(device), torch.bfloat16 if device == "cuda" else None
    data = training_loader(CachedSegmentationDataset(cache, ids, PairAugmentation(preset), seed=0),  # type: ignore[arg-type]
                           TrainConfig(workers="auto", batch_size=32), where, seed=0)
    model = place_model(build_model("unext", in_channels=1), where, True).train()
    update = Update(DeepSupervisionLoss(build_loss("bce_dice")), torch.optim.AdamW(model.parameters()),
                    torch.amp.GradScaler(device, enabled=False), dtype, 1.0)
    first = next(iter(data))
    x, mask = first["image"].to(where).contiguous(memory_format=torch.channels_last), first["mask"].to(where)
    alone = _timed(device, lambda: [train_step(model, x, mask, update) for _ in range(len(data))])

    def fed() -> None:
        for batch in data:
            image = batch["image"].to(where, non_blocking=True).contiguous(memory_format=torch.channels_last)
            train_step(model, image, batch["mask"].to(where, non_blocking=True), update)

    data.sampler.set_epoch(1)  # type: ignore[attr-defined]
    _timed(device, fed)  # starts the workers
    data.sampler.set_epoch(2)  # type: ignore[attr-defined]
    return {"preset": preset, "workers": data.num_workers, "ratio": alone / _timed(device, fed)}


def loader(work: Path, device: str) -> Verdict:
    """The loader/step ratio per augmentation preset, on 256 px images on CUDA."""
    count, size = (256, 256) if device == "cuda" else (32, 64)  # the CPU: plumbing only
    manifest, cache, _ = _synthetic(Path(tempfile.mkdtemp(prefix="loader-", dir=work)), count, size)
    ids = manifest.frame["case_id"].tolist()  # type: ignore[attr-defined]
    rows = [_loader_ratio(preset, cache, ids, device) for preset in ("standard", "nnunet", "ccf_bdci_2021")]
    (work / "loader.txt").write_text(f"{rows}\n")
    return judge.check_loader(rows)


def _fold_dice(run: Path) -> list[float]:
    import pandas as pd

    return [float(pd.read_csv(log)["val_dice"].iloc[-1]) for log in sorted(run.rglob("fold-*/log.csv"))]


def judged(part: str, work: Path, device: str) -> Verdict:
    """The verdicts of the parts gpu_check.sh runs through the CLI."""
    import pandas as pd

    if part == "cudatests":
        return judge.check_junit(work / "cudatests.xml")
    if part == "profile":
        orders = [{str(model): float(peak) for model, peak in
                   pd.read_csv(path).set_index("model").filter(like="peak_memory_mb").iloc[:, 0].items()}
                  for path in sorted(work.glob("profile-*/profile.csv"))]
        return judge.check_profile(orders)
    if part == "compile":
        return judge.check_finished("compile", _fold_dice(work / "compile-run"))
    if part == "train":
        logs = [pd.read_csv(next((work / f"train-{target}").rglob("fold-1/log.csv")))["val_dice"].tolist()
                for target in ("device", "cpu")]
        return judge.check_train(*logs)
    raise ValueError(part)


RUNNERS: dict[str, Callable[[Path, str], Verdict]] = {
    "setup": setup, "resume": resume, "predict": predict, "amp": amp, "replicas": replicas, "loader": loader}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("part", choices=[*RUNNERS, "cudatests", "profile", "compile", "train"])
    parser.add_argument("work", type=Path)
    parser.add_argument("--device", choices=["cuda", "cpu"], default="cuda")
    args = parser.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    try:
        runner = RUNNERS.get(args.part)
        verdict = runner(args.work, args.device) if runner else judged(args.part, args.work, args.device)
    except Exception as exc:  # any crash of a part's path is that part's FAIL, in one line
        verdict = Verdict(args.part, False, f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
        import traceback

        traceback.print_exc()
    print(verdict.line(), flush=True)
    return 0 if verdict.passed else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
