"""Each verdict of benchmarks/gpu_check.sh passes the results its path should give and FAILs on
doctored ones (a resume that restarted, masks that differ, a loader that starves the GPU, ...), so
no part of the GPU check can pass without running its path. Runs on the CPU."""

from __future__ import annotations

from pathlib import Path

import gpu_checkers as judge
import pytest


def _resume(**doctored: object) -> list[dict[str, object]]:
    run: dict[str, object] = {"amp": "fp16", "interrupted_after": 2, "full_epochs": [1, 2, 3], "resumed_trained": [3],
                              "resumed_epochs": [1, 2, 3], "full_dice": 0.61, "resumed_dice": 0.612,
                              "scaler_scale": 65536.0}
    return [{**run, **doctored}]


def test_resume_fails_a_restart_a_skip_a_drift_and_a_lost_scaler() -> None:
    assert judge.check_resume(_resume()).line() == "PASS resume fp16 dice gap 0.0020"
    restarted = judge.check_resume(_resume(resumed_trained=[1, 2, 3]))
    assert restarted.line() == \
        "FAIL resume fp16: the resumed call trained epochs [1, 2, 3], not [3] (it restarted or skipped)"
    assert not judge.check_resume(_resume(resumed_trained=[])).passed  # resumed as if finished
    assert "logged epochs [1, 3]" in judge.check_resume(_resume(resumed_epochs=[1, 3])).text
    drifted = judge.check_resume(_resume(resumed_dice=0.58))
    assert not drifted.passed and "tolerance 0.005" in drifted.text
    assert not judge.check_resume(_resume(resumed_dice=float("nan"))).passed
    assert judge.check_resume(_resume(scaler_scale=None)).text == "fp16: last.pt holds no gradient scaler state"
    assert judge.check_resume(_resume(amp="bf16", scaler_scale=None)).passed
    assert not judge.check_resume([]).passed


def test_predict_fails_unlike_masks_a_missing_mask_and_mixed_precisions() -> None:
    good = {"scan0.png": 1.0, "scan1.png": 0.995}
    assert judge.check_predict(good, 2, ["fp32", "fp32"]).line() == \
        "PASS predict 2 masks, worst pixel agreement 0.9950 at fp32"
    assert judge.check_predict({**good, "scan1.png": 0.98}, 2, ["fp32", "fp32"]).text == \
        "scan1.png: CUDA and CPU masks agree on 98.00% of pixels (< 99%)"
    missing = judge.check_predict({**good, "scan1.png": None}, 2, ["fp32"] * 2)
    assert missing.text == "no mask on one device for scan1.png"
    assert "did not predict at one precision: bf16, fp32" in judge.check_predict(good, 2, ["bf16", "fp32"]).text
    assert not judge.check_predict(good, 2, ["fp32"]).passed  # one predict did not say its precision
    assert not judge.check_predict(good, 3, ["fp32", "fp32"]).passed
    assert not judge.check_predict({}, 0, []).passed


def test_mask_agreement_counts_pixels() -> None:
    np = pytest.importorskip("numpy")
    a = np.zeros((4, 5), dtype=np.uint8)
    b = a.copy()
    b[0, :2] = 255
    assert judge.mask_agreement(a, b) == pytest.approx(18 / 20)
    assert judge.mask_agreement(a, np.zeros((5, 4))) == 0.0


def test_amp_fails_a_loss_that_does_not_fall_or_is_not_finite_and_auto_off_bf16_on_ampere() -> None:
    steps = [{"model": "unext", "amp": "bf16", "first_loss": 1.2, "last_loss": 0.7}]
    assert judge.check_amp(steps, "bf16", 9).line() == "PASS amp 1 step runs fell; auto -> bf16"
    assert judge.check_amp(steps, "fp16", 7).passed
    assert judge.check_amp(steps, "fp16", 8).text == "amp: auto chose fp16 on a GPU of compute capability 8.x, not bf16"
    assert not judge.check_amp(steps, "bf16", 7).passed
    assert "did not fall" in judge.check_amp([{**steps[0], "last_loss": 1.3}], "bf16", 9).text
    assert "not finite" in judge.check_amp([{**steps[0], "last_loss": float("nan")}], "bf16", 9).text
    assert not judge.check_amp([], "bf16", 9).passed


def test_replicas_fail_a_replica_in_the_wrong_dtype_or_a_missing_one() -> None:
    good = {"bfloat16": ["torch.bfloat16"] * 2, "float16": ["torch.float16"] * 2}
    assert judge.check_replicas(good).line() == "PASS replicas 2 replicas in bfloat16, float16"
    thread_default = {**good, "bfloat16": ["torch.float16", "torch.float16"]}  # autocast re-entered without the dtype
    assert judge.check_replicas(thread_default).text == \
        "bfloat16 configured, the replicas computed in torch.float16, torch.float16"
    assert judge.check_replicas({"bfloat16": ["torch.bfloat16"]}).text == "bfloat16: 1 replicas ran, not 2"
    assert not judge.check_replicas({}).passed


JUNIT = ('<testsuites><testsuite name="pytest" tests="{tests}" failures="{failures}" errors="0" skipped="{skipped}">'
         "</testsuite></testsuites>")


def test_cuda_tests_fail_a_failure_a_missing_report_and_all_skipped(tmp_path: Path) -> None:
    report = tmp_path / "cudatests.xml"
    assert judge.check_junit(report).text.startswith("no report at")
    report.write_text(JUNIT.format(tests=20, failures=0, skipped=2))
    assert judge.check_junit(report).line() == "PASS cudatests 18 passed, 2 skipped"
    report.write_text(JUNIT.format(tests=20, failures=2, skipped=0))
    assert judge.check_junit(report).text == "2 failed, 0 errors, 18 passed"
    report.write_text(JUNIT.format(tests=20, failures=0, skipped=20))
    assert not judge.check_junit(report).passed


def test_loader_fails_a_starved_gpu() -> None:
    rows = [{"preset": "standard", "workers": 8, "ratio": 0.93}, {"preset": "nnunet", "workers": 8, "ratio": 0.71}]
    assert judge.check_loader(rows).line() == "PASS loader 2 presets, worst loader/step ratio 0.71"
    starved = judge.check_loader([*rows, {"preset": "ccf_bdci_2021", "workers": 8, "ratio": 0.3}])
    assert starved.text == "ccf_bdci_2021: loader/step ratio 0.30 with 8 workers (< 0.5)"
    assert not judge.check_loader([{**rows[0], "ratio": float("nan")}]).passed
    assert not judge.check_loader([]).passed


def test_profile_fails_peak_memory_that_depends_on_the_model_order() -> None:
    flat = [{"unext": 40.0, "unet": 300.0}, {"unet": 300.5, "unext": 40.0}]
    assert judge.check_profile(flat).line() == "PASS profile 2 models, peak memory apart by at most 0.50 MB"
    leaking = [flat[0], {"unet": 300.0, "unext": 140.0}]  # the allocator's state left by the model before
    assert judge.check_profile(leaking).text.startswith("unext: peak memory [40.0, 140.0] MB by order")
    assert "no peak memory" in judge.check_profile([flat[0], {"unet": 300.0}]).text
    assert not judge.check_profile([flat[0], {**flat[1], "unet": None}]).passed
    assert not judge.check_profile(flat[:1]).passed


def test_finished_runs_need_finite_scores() -> None:
    assert judge.check_finished("compile", [0.5, 0.7]).line() == "PASS compile 2 fold scores, mean Dice 0.600"
    assert not judge.check_finished("compile", []).passed
    assert not judge.check_finished("compile", [0.5, float("nan")]).passed


def test_train_fails_devices_apart_and_a_run_that_did_not_learn() -> None:
    assert judge.check_train([0.3, 0.5, 0.6], [0.32, 0.52, 0.58]).line() == \
        "PASS train final Dice 0.600 CUDA, 0.580 CPU"
    assert "tolerance 0.1" in judge.check_train([0.3, 0.5, 0.6], [0.3, 0.4, 0.45]).text
    assert "did not learn" in judge.check_train([0.3, 0.2, 0.1], [0.3, 0.2, 0.1]).text
    assert not judge.check_train([0.3, 0.5], [0.3, 0.5, 0.6]).passed


def test_setup_fails_a_missing_or_too_old_requirement() -> None:
    installed = {"torch": "2.11.0", "pydantic": "2.14.4"}

    def satisfies(requirement: str, version: str) -> bool:
        return tuple(map(int, version.split("."))) >= tuple(map(int, requirement.split(">=")[1].split(".")))

    assert judge.check_setup(["torch>=2.5", "pydantic>=2.5"], installed.get, satisfies).line() == \
        "PASS setup 2 requirements importable"
    missing = judge.check_setup(["torch>=2.5", "openpyxl>=3.1"], installed.get, satisfies)
    assert missing.text.startswith("openpyxl missing (add it to benchmarks/gpu_wheels.txt")
    assert "torch 2.11.0 does not satisfy torch>=2.12" in judge.check_setup(["torch>=2.12"], installed.get,
                                                                             satisfies).text
    assert not judge.check_setup([], installed.get, satisfies).passed
