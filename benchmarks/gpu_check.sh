#!/usr/bin/env bash
# The checks only a machine with a CUDA GPU can make, run once there; every figure goes to OUT.
#
#   benchmarks/gpu_check.sh [--dry-run] [OUT [BUSI_ROOT]]
#
# OUT defaults to gpu-check/, BUSI_ROOT to ../shared/data/Dataset_BUSI_with_GT (the synthetic
# dataset is used where it is absent). PYTHON names the interpreter with busbench installed
# (default: .venv/bin/python, else python3). --dry-run prints each command without running it.
# Covered: the test suite; AMP fp16 and bf16 training steps with channels-last (busbench's own
# train_step); synchronised inference speed (busbench profile --device cuda); train.multi_gpu
# (when there are at least 2 GPUs); one short real training run with train.device=cuda.
set -euo pipefail

DRY_RUN=0
if [[ "${1:-}" == "--dry-run" ]]; then DRY_RUN=1; shift; fi
OUT=${1:-gpu-check}
BUSI_ROOT=${2:-../shared/data/Dataset_BUSI_with_GT}
if [[ -z "${PYTHON:-}" ]]; then
    if [[ -x .venv/bin/python ]]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi
mkdir -p "$OUT"

run() {  # print the command, then run it (not under --dry-run); a failure stops the script
    echo "+ $*" | tee -a "$OUT/commands.txt"
    if [[ $DRY_RUN == 0 ]]; then "$@"; fi
}

echo "gpu_check: figures go to $OUT; python: $PYTHON; dry run: $DRY_RUN"
: > "$OUT/commands.txt"
if [[ $DRY_RUN == 0 ]]; then
    nvidia-smi > "$OUT/nvidia-smi.txt"
    "$PYTHON" -c "import torch; assert torch.cuda.is_available(), 'torch sees no CUDA device'; \
print(torch.__version__, torch.version.cuda, torch.cuda.device_count(), torch.cuda.get_device_name(0))" \
        | tee "$OUT/torch-cuda.txt"
    GPUS=$("$PYTHON" -c "import torch; print(torch.cuda.device_count())")
else
    GPUS=0
fi

echo "== 1. the test suite"
run "$PYTHON" -m pytest -q -p no:cacheprovider --junitxml="$OUT/pytest.xml"

echo "== 2. AMP fp16 and bf16 training steps, channels-last, through busbench's train_step"
run "$PYTHON" - "$OUT/amp_steps.csv" <<'PY'
import sys, time
import torch
from busbench.models import build_model
from busbench.train.deep_supervision import DeepSupervisionLoss
from busbench.train.losses import build_loss
from busbench.train.trainer import train_step

device, rows = torch.device("cuda"), []
x = torch.rand(8, 1, 256, 256, device=device).contiguous(memory_format=torch.channels_last)
mask = (torch.rand(8, 1, 256, 256, device=device) > 0.8).float()
for name in ("unext", "cmunext"):
    for label, dtype in (("fp32", None), ("fp16", torch.float16), ("bf16", torch.bfloat16)):
        torch.manual_seed(0)
        model = build_model(name, in_channels=1).to(device).to(memory_format=torch.channels_last).train()
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
        scaler = torch.amp.GradScaler("cuda", enabled=dtype == torch.float16)
        loss_fn = DeepSupervisionLoss(build_loss("bce_dice"))  # as the trainer wraps it
        losses = [float(train_step(model, x, mask, loss_fn, optimizer, scaler, dtype, 1.0)) for _ in range(5)]
        torch.cuda.synchronize()
        started = time.perf_counter()
        for _ in range(20):
            losses.append(float(train_step(model, x, mask, loss_fn, optimizer, scaler, dtype, 1.0)))
        torch.cuda.synchronize()
        speed = 20 * 8 / (time.perf_counter() - started)
        assert all(torch.isfinite(torch.tensor(losses))), f"{name} {label}: a loss is not finite"
        assert losses[-1] < losses[0], f"{name} {label}: the loss did not fall ({losses[0]:.4f} -> {losses[-1]:.4f})"
        rows.append(f"{name},{label},{speed:.1f},{losses[0]:.4f},{losses[-1]:.4f}")
        print(rows[-1], flush=True)
open(sys.argv[1], "w").write("model,amp,train_images_per_s,first_loss,last_loss\n" + "\n".join(rows) + "\n")
PY

echo "== 3. synchronised inference speed and memory (busbench profile --device cuda)"
run "$PYTHON" -m busbench profile --device cuda --model unext --model cmunext --model unet --size 256 --batch 8 \
    --seconds 20 --out "$OUT/profile"

echo "== 4. train.multi_gpu"
if (( GPUS >= 2 )); then
    run "$PYTHON" -m busbench run demo --set train.device=cuda --set train.multi_gpu=true \
        --set "output_dir=$OUT/multi-gpu"
else
    echo "skipped: train.multi_gpu needs at least 2 GPUs, this machine has $GPUS" | tee "$OUT/multi-gpu-skipped.txt"
fi

echo "== 5. one short real training run with train.device=cuda"
if [[ -d "$BUSI_ROOT" ]]; then
    run "$PYTHON" -m busbench run busi --set "data.root=$BUSI_ROOT" --set train.device=cuda --set train.epochs=3 \
        --set "output_dir=$OUT/busi-run"
else
    echo "no BUSI at $BUSI_ROOT: the synthetic demo instead" | tee "$OUT/run-dataset.txt"
    run "$PYTHON" -m busbench run demo --set train.device=cuda --set "output_dir=$OUT/demo-run"
fi

echo "gpu_check: done; commands in $OUT/commands.txt, figures:"
find "$OUT" -maxdepth 2 -type f \( -name '*.csv' -o -name '*.md' -o -name '*.txt' -o -name '*.xml' \) | sort
