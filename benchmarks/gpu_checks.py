"""The Python halves of benchmarks/gpu_check.sh: checks that need a CUDA device, one per command.

    python benchmarks/gpu_checks.py amp OUT        fp32/fp16/bf16 training steps through train_step
    python benchmarks/gpu_checks.py resume OUT     interrupt and resume the real trainer on CUDA (fp16 + scaler, bf16)
    python benchmarks/gpu_checks.py replicas OUT   the autocast dtype inside nn.DataParallel replicas (2+ GPUs)
    python benchmarks/gpu_checks.py loader OUT     the trainer's loader + step against the step alone (img/s)
    python benchmarks/gpu_checks.py compare OUT CUDA_LOG CPU_LOG   validation Dice of the same run on both devices

Each writes a CSV to OUT and fails (exit 1) when a check does not hold.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import torch
from torch import nn

from busbench.augment import PairAugmentation
from busbench.config import TrainConfig, load_config
from busbench.data.access import development_split
from busbench.data.cache import Cache, build_cache
from busbench.data.manifest import load_manifest
from busbench.data.prepare import prepare_dataset
from busbench.data.split.split_file import SplitSettings, plan_split, write_split
from busbench.data.torch_dataset import CachedSegmentationDataset
from busbench.losses import build_loss
from busbench.models import build_model
from busbench.models.precision import autocast
from busbench.train import checkpoint
from busbench.train.callbacks import EpochRecord
from busbench.train.deep_supervision import DeepSupervisionLoss
from busbench.train.loaders import training_loader
from busbench.train.trainer import FoldJob, Update, spread_over_gpus, train_fold, train_step

CUDA = torch.device("cuda")
DTYPES = {"fp32": None, "fp16": torch.float16, "bf16": torch.bfloat16}


def _write(rows: list[dict[str, object]], path: Path) -> None:
    pd.DataFrame(rows).to_csv(path, index=False, lineterminator="\n", float_format="%.4f")
    print(pd.DataFrame(rows).to_string(index=False), flush=True)


def _synthetic(work: Path, count: int, size: int) -> tuple[object, Cache, Path]:
    prepare_dataset("synthetic", work / "raw", work / "manifest", {"count": count, "size": size, "seed": 3})
    manifest = load_manifest(work / "manifest")
    write_split(plan_split(manifest, SplitSettings(folds=2)), work / "split.json")
    return manifest, build_cache(manifest, size, cache_root=work), work / "split.json"


def _step_parts(name: str, dtype: torch.dtype | None) -> tuple[nn.Module, torch.optim.Optimizer, torch.amp.GradScaler]:
    torch.manual_seed(0)
    model = build_model(name, in_channels=1).to(CUDA).to(memory_format=torch.channels_last).train()
    return (model, torch.optim.AdamW(model.parameters(), lr=1e-3),
            torch.amp.GradScaler("cuda", enabled=dtype == torch.float16))


def check_amp(out: Path) -> None:
    x = torch.rand(8, 1, 256, 256, device=CUDA).contiguous(memory_format=torch.channels_last)
    mask = (torch.rand(8, 1, 256, 256, device=CUDA) > 0.8).float()
    loss_fn, rows = DeepSupervisionLoss(build_loss("bce_dice")), []
    for name in ("unext", "cmunext"):
        for label, dtype in DTYPES.items():
            model, optimizer, scaler = _step_parts(name, dtype)
            update = Update(loss_fn, optimizer, scaler, dtype, 1.0)
            losses = [float(train_step(model, x, mask, update)) for _ in range(5)]
            torch.cuda.synchronize()
            started = time.perf_counter()
            steps = [train_step(model, x, mask, update) for _ in range(20)]
            torch.cuda.synchronize()
            losses += [float(s) for s in steps]
            assert all(torch.isfinite(torch.tensor(losses))), f"{name} {label}: a loss is not finite"
            assert losses[-1] < losses[0], f"{name} {label}: the loss did not fall"
            rows.append({"model": name, "amp": label, "train_images_per_s": 160 / (time.perf_counter() - started),
                         "first_loss": losses[0], "last_loss": losses[-1]})
    _write(rows, out / "amp_steps.csv")


class Interrupted(Exception):
    pass


def check_resume(out: Path) -> None:
    """The real trainer on CUDA, stopped after epoch 2 and resumed, against an uninterrupted run."""
    manifest, cache, split = _synthetic(Path(tempfile.mkdtemp(prefix="gpu-resume-")), 60, 64)
    development, rows = development_split(split, manifest), []

    def stop(record: EpochRecord) -> None:
        if record.epoch == 2:
            raise Interrupted

    for amp in ("fp16", "bf16"):
        cfg = load_config(None, ["input.size=64", "model.kwargs.base_channels=8", "train.epochs=3", f"train.amp={amp}",
                                 "train.device=cuda", "train.workers=2", "train.deterministic=true"])
        recipe = cfg.training_recipe()
        full = train_fold(recipe, FoldJob(development, cache, 1, out / f"resume-{amp}" / "full"), CUDA)
        try:
            train_fold(recipe, FoldJob(development, cache, 1, out / f"resume-{amp}" / "resumed"), CUDA, [stop])
        except Interrupted:
            pass
        resumed = train_fold(recipe, FoldJob(development, cache, 1, out / f"resume-{amp}" / "resumed"), CUDA)
        saved = checkpoint.load(out / f"resume-{amp}" / "resumed" / checkpoint.LAST)
        assert resumed.finished and resumed.epoch == 3, f"{amp}: the resumed run did not finish"
        assert amp != "fp16" or saved["scaler"].get("scale", 0) > 0, "fp16: no gradient scaler state saved"
        rows.append({"amp": amp, "full_val_dice": full.history[-1]["val_dice"],
                     "resumed_val_dice": resumed.history[-1]["val_dice"], "cuda_rng_states": len(saved["rng"]["cuda"]),
                     "scaler_scale": saved["scaler"].get("scale")})
    _write(rows, out / "resume.csv")


class DtypeProbe(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.seen: list[str] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        self.seen.append(str(y.dtype))
        return y


def check_replicas(out: Path) -> None:
    """Every nn.DataParallel replica computes in the configured dtype, from cuda:0 and from cuda:1."""
    rows = []
    for first in range(min(torch.cuda.device_count(), 2)):
        for label in ("bf16", "fp16"):
            device, probe = torch.device(f"cuda:{first}"), DtypeProbe()
            network = spread_over_gpus(probe.to(device), device, DTYPES[label])
            with autocast(device, DTYPES[label]):
                network(torch.rand(8, 1, 32, 32, device=device))
            rows.append({"device": str(device), "amp": label, "replica_dtypes": " ".join(probe.seen)})
            assert probe.seen and set(probe.seen) == {str(DTYPES[label])}, rows[-1]
    _write(rows, out / "replicas.csv")


def check_loader(out: Path) -> None:
    """Training img/s through the trainer's loader (workers auto) against the step alone on one
    batch kept on the GPU: a ratio well under 1 means the GPU waits for data."""
    manifest, cache, _ = _synthetic(Path(tempfile.mkdtemp(prefix="gpu-loader-")), 512, 256)
    ids = manifest.frame["case_id"].tolist()
    loss_fn, rows = DeepSupervisionLoss(build_loss("bce_dice")), []
    for preset in ("standard", "nnunet", "ccf_bdci_2021"):
        dataset = CachedSegmentationDataset(cache, ids, PairAugmentation(preset), seed=0)
        loader = training_loader(dataset, TrainConfig(workers="auto", batch_size=32), CUDA, seed=0)
        model, optimizer, scaler = _step_parts("unext", torch.bfloat16)
        update = Update(loss_fn, optimizer, scaler, torch.bfloat16, 1.0)
        first = next(iter(loader))
        x = first["image"].to(CUDA).contiguous(memory_format=torch.channels_last)
        mask = first["mask"].to(CUDA)
        for _ in range(5):
            train_step(model, x, mask, update)
        torch.cuda.synchronize()
        started = time.perf_counter()
        for _ in range(len(loader)):
            train_step(model, x, mask, update)
        torch.cuda.synchronize()
        alone = len(loader) * 32 / (time.perf_counter() - started)
        for epoch in (1, 2):  # the first starts the workers
            loader.sampler.set_epoch(epoch)  # type: ignore[attr-defined]
            torch.cuda.synchronize()
            started = time.perf_counter()
            for batch in loader:
                image = batch["image"].to(CUDA, non_blocking=True).contiguous(memory_format=torch.channels_last)
                train_step(model, image, batch["mask"].to(CUDA, non_blocking=True), update)
            torch.cuda.synchronize()
        fed = len(loader) * 32 / (time.perf_counter() - started)
        rows.append({"preset": preset, "workers": loader.num_workers, "step_alone_img_s": alone,
                     "with_loader_img_s": fed, "ratio": fed / alone})
    _write(rows, out / "loader_vs_gpu.csv")


def compare_devices(out: Path, cuda_log: Path, cpu_log: Path, tolerance: float = 0.1) -> None:
    """The same short training on CUDA and on the CPU: validation Dice per epoch, which must agree
    within ``tolerance`` (CUDA kernels are not bit-identical to the CPU's)."""
    cuda, cpu = pd.read_csv(cuda_log), pd.read_csv(cpu_log)
    table = cuda[["epoch", "val_dice", "seconds"]].merge(cpu[["epoch", "val_dice", "seconds"]], on="epoch",
                                                         suffixes=("_cuda", "_cpu"))
    _write(table.to_dict("records"), out / "cuda_vs_cpu.csv")
    gap = abs(table["val_dice_cuda"].iloc[-1] - table["val_dice_cpu"].iloc[-1])
    assert gap <= tolerance, f"final validation Dice differs by {gap:.3f} between CUDA and the CPU"


def main(argv: list[str]) -> None:
    checks = {"amp": check_amp, "resume": check_resume, "replicas": check_replicas, "loader": check_loader}
    if len(argv) == 4 and argv[0] == "compare":
        compare_devices(Path(argv[1]), Path(argv[2]), Path(argv[3]))
    elif len(argv) == 2 and argv[0] in checks:
        assert torch.cuda.is_available(), "torch sees no CUDA device"
        checks[argv[0]](Path(argv[1]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
