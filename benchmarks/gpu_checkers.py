"""The verdicts of benchmarks/gpu_check.sh: each part's results in, ``PASS name figure`` or
``FAIL name why`` out. Pure functions of the results (no torch, no GPU), so that
tests/test_gpu_checkers.py can show on the CPU that each one fails on doctored results.
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

RESUME_DICE_TOLERANCE = 0.005  # deterministic resume on one device: the same run, up to summation order
MASK_AGREEMENT = 0.99  # CUDA and CPU masks of the same images at the same precision
MIN_LOADER_RATIO = 0.5  # training img/s through the loader against the step alone
PEAK_MEMORY_TOLERANCE_MB = 2.0  # one model's peak memory, whatever model ran before it
TRAIN_DICE_TOLERANCE = 0.1  # a short fp32 training on CUDA against the same on the CPU


@dataclass(frozen=True)
class Verdict:
    part: str
    passed: bool
    text: str

    def line(self) -> str:
        return f"{'PASS' if self.passed else 'FAIL'} {self.part} {self.text}"


def _fail(part: str, why: str) -> Verdict:
    return Verdict(part, False, why)


def check_setup(requirements: Iterable[str], version_of: Callable[[str], str | None],
                satisfies: Callable[[str, str], bool]) -> Verdict:
    """Every runtime requirement of pyproject.toml (``name>=x``) is installed in a version it allows;
    ``version_of`` gives a distribution's version (None: absent), ``satisfies(requirement, version)``."""
    problems, count = [], 0
    for requirement in requirements:
        name = re.split(r"[<>=!~ ;\[]", requirement, maxsplit=1)[0]
        version, count = version_of(name), count + 1
        if version is None:
            problems.append(f"{name} missing")
        elif not satisfies(requirement, version):
            problems.append(f"{name} {version} does not satisfy {requirement}")
    if count == 0:
        return _fail("setup", "no requirement read from pyproject.toml")
    if problems:
        return _fail("setup", "; ".join(problems) + " (add it to benchmarks/gpu_wheels.txt, rerun gpu_wheels.sh)")
    return Verdict("setup", True, f"{count} requirements importable")


def check_resume(runs: Sequence[Mapping[str, object]]) -> Verdict:
    """Each run: ``amp``, ``interrupted_after`` (epoch), ``full_epochs`` (logged by the uninterrupted
    fold), ``resumed_trained`` (epochs the resumed call trained), ``resumed_epochs`` (its log),
    ``full_dice``, ``resumed_dice`` (final validation Dice) and ``scaler_scale`` (fp16 only)."""
    if not runs:
        return _fail("resume", "no run recorded")
    figures = []
    for run in runs:
        amp, stop = run["amp"], int(run["interrupted_after"])  # type: ignore[call-overload]
        full, trained, logged = (list(run[key]) for key in ("full_epochs", "resumed_trained", "resumed_epochs"))  # type: ignore[call-overload]
        if trained != full[stop:]:
            return _fail("resume", f"{amp}: the resumed call trained epochs {trained}, not {full[stop:]} "
                                   f"(it restarted or skipped)")
        if logged != full:
            return _fail("resume", f"{amp}: the resumed fold logged epochs {logged}, the uninterrupted {full}")
        gap = abs(float(run["full_dice"]) - float(run["resumed_dice"]))  # type: ignore[arg-type]
        if not gap <= RESUME_DICE_TOLERANCE:
            return _fail("resume", f"{amp}: final Dice {run['resumed_dice']} resumed against {run['full_dice']} "
                                   f"uninterrupted (tolerance {RESUME_DICE_TOLERANCE})")
        if amp == "fp16" and not float(run.get("scaler_scale") or 0) > 0:  # type: ignore[arg-type]
            return _fail("resume", "fp16: last.pt holds no gradient scaler state")
        figures.append(f"{amp} dice gap {gap:.4f}")
    return Verdict("resume", True, "; ".join(figures))


def mask_agreement(first: object, second: object) -> float:
    """The share of pixels on which two equally shaped masks (numpy arrays) agree."""
    import numpy as np

    a, b = np.asarray(first), np.asarray(second)
    return float((a == b).mean()) if a.shape == b.shape else 0.0


def check_predict(agreement: Mapping[str, float | None], expected: int, precisions: Sequence[str]) -> Verdict:
    """``agreement``: per image, the share of pixels on which the CUDA and the CPU mask agree (None:
    one of them is missing); ``precisions``: what each of the two predicts said it computed in."""
    if len(agreement) != expected or expected == 0:
        return _fail("predict", f"{len(agreement)} masks compared, {expected} images given")
    missing = sorted(name for name, share in agreement.items() if share is None)
    if missing:
        return _fail("predict", f"no mask on one device for {', '.join(missing)}")
    if len(precisions) != 2 or len(set(precisions)) != 1:
        return _fail("predict", f"the two devices did not predict at one precision: {', '.join(precisions)}")
    worst = min(agreement, key=lambda name: agreement[name] or 0.0)
    share = float(agreement[worst] or 0.0)
    if share < MASK_AGREEMENT:
        return _fail("predict", f"{worst}: CUDA and CPU masks agree on {share:.2%} of pixels (< {MASK_AGREEMENT:.0%})")
    return Verdict("predict", True, f"{expected} masks, worst pixel agreement {share:.4f} at {precisions[0]}")


def check_amp(steps: Sequence[Mapping[str, object]], auto: str, gpu_major: int | None) -> Verdict:
    """``steps``: per model and precision, ``first_loss`` and ``last_loss`` of a few training steps;
    ``auto``: the precision ``amp: auto`` chose; ``gpu_major``: the GPU's compute capability major
    (None: the CPU, where auto's choice depends on the CPU and is not asserted)."""
    if not steps:
        return _fail("amp", "no training step recorded")
    for row in steps:
        first, last = float(row["first_loss"]), float(row["last_loss"])  # type: ignore[arg-type]
        if not (math.isfinite(first) and math.isfinite(last)):
            return _fail("amp", f"{row['model']} {row['amp']}: a loss is not finite")
        if not last < first:
            return _fail("amp", f"{row['model']} {row['amp']}: the loss did not fall ({first:.4f} -> {last:.4f})")
    if gpu_major is not None:
        wanted = "bf16" if gpu_major >= 8 else "fp16"
        if auto != wanted:
            return _fail("amp", f"amp: auto chose {auto} on a GPU of compute capability {gpu_major}.x, not {wanted}")
    return Verdict("amp", True, f"{len(steps)} step runs fell; auto -> {auto}")


def check_replicas(seen: Mapping[str, Sequence[str]]) -> Verdict:
    """``seen``: per configured dtype (``bfloat16``, ``float16``), the dtype each of the two replicas
    that ``parallel_apply(devices=[0, 0])`` ran computed in."""
    if not seen:
        return _fail("replicas", "no replica ran")
    for wanted, dtypes in seen.items():
        if len(dtypes) != 2:
            return _fail("replicas", f"{wanted}: {len(dtypes)} replicas ran, not 2")
        if set(dtypes) != {f"torch.{wanted}"}:
            return _fail("replicas", f"{wanted} configured, the replicas computed in {', '.join(dtypes)}")
    return Verdict("replicas", True, f"2 replicas in {', '.join(seen)}")


def check_junit(path: Path, part: str = "cudatests", least: int = 1) -> Verdict:
    """A pytest --junitxml report: no failure, no error, and at least ``least`` tests passed."""
    if not path.is_file():
        return _fail(part, f"no report at {path}: pytest did not run")
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for suite in ElementTree.parse(path).getroot().iter("testsuite"):
        for key in counts:
            counts[key] += int(suite.get(key, 0))
    passed = counts["tests"] - counts["failures"] - counts["errors"] - counts["skipped"]
    if counts["failures"] or counts["errors"]:
        return _fail(part, f"{counts['failures']} failed, {counts['errors']} errors, {passed} passed")
    if passed < least:
        return _fail(part, f"{passed} passed, {counts['skipped']} skipped: fewer than {least} ran")
    return Verdict(part, True, f"{passed} passed, {counts['skipped']} skipped")


def check_loader(rows: Sequence[Mapping[str, object]]) -> Verdict:
    """Per augmentation preset, the loader's ``workers`` and ``ratio`` of training img/s through the
    loader to the step alone: under ``MIN_LOADER_RATIO`` the GPU waits for data."""
    if not rows:
        return _fail("loader", "no preset measured")
    for row in rows:
        ratio = float(row["ratio"])  # type: ignore[arg-type]
        if not ratio >= MIN_LOADER_RATIO:
            return _fail("loader", f"{row['preset']}: loader/step ratio {ratio:.2f} with {row['workers']} workers "
                                   f"(< {MIN_LOADER_RATIO})")
    worst = min(float(row["ratio"]) for row in rows)  # type: ignore[arg-type]
    return Verdict("loader", True, f"{len(rows)} presets, worst loader/step ratio {worst:.2f}")


def check_profile(orders: Sequence[Mapping[str, float | None]]) -> Verdict:
    """Per model order, each model's peak memory (MB): it must not depend on what ran before it."""
    if len(orders) < 2 or not orders[0]:
        return _fail("profile", "fewer than two model orders profiled")
    worst = 0.0
    for model in orders[0]:
        peaks = [order.get(model) for order in orders]
        if any(value is None or not math.isfinite(value) for value in peaks):
            return _fail("profile", f"{model}: no peak memory in every order ({peaks})")
        spread = max(peaks) - min(peaks)  # type: ignore[type-var,operator]
        if spread > PEAK_MEMORY_TOLERANCE_MB:
            return _fail("profile", f"{model}: peak memory {peaks} MB by order, apart by more than "
                                    f"{PEAK_MEMORY_TOLERANCE_MB} MB")
        worst = max(worst, spread)
    return Verdict("profile", True, f"{len(orders[0])} models, peak memory apart by at most {worst:.2f} MB")


def check_finished(part: str, dice: Sequence[float]) -> Verdict:
    """A run's fold scores: present and finite."""
    if not dice or not all(math.isfinite(value) for value in dice):
        return _fail(part, f"the run left no finite Dice ({list(dice)})")
    return Verdict(part, True, f"{len(dice)} fold scores, mean Dice {sum(dice) / len(dice):.3f}")


def check_train(cuda_dice: Sequence[float], cpu_dice: Sequence[float]) -> Verdict:
    """Validation Dice per epoch of the same fp32 training on CUDA and on the CPU: both learn, and
    they end within ``TRAIN_DICE_TOLERANCE`` (CUDA kernels are not bit-identical to the CPU's)."""
    if len(cuda_dice) < 2 or len(cuda_dice) != len(cpu_dice):
        return _fail("train", f"{len(cuda_dice)} CUDA epochs against {len(cpu_dice)} CPU epochs")
    gap = abs(cuda_dice[-1] - cpu_dice[-1])
    if not gap <= TRAIN_DICE_TOLERANCE:
        return _fail("train", f"final Dice {cuda_dice[-1]:.3f} on CUDA, {cpu_dice[-1]:.3f} on the CPU "
                              f"(tolerance {TRAIN_DICE_TOLERANCE})")
    if not max(cuda_dice) > cuda_dice[0]:
        return _fail("train", f"CUDA training did not learn: Dice {list(cuda_dice)}")
    return Verdict("train", True, f"final Dice {cuda_dice[-1]:.3f} CUDA, {cpu_dice[-1]:.3f} CPU")

