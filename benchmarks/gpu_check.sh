#!/usr/bin/env bash
# The checks only a machine with a CUDA GPU can make; every figure goes to OUT.
#
#   benchmarks/gpu_check.sh [--dry-run] [--part NAME]... [OUT [BUSI_ROOT]]
#
# Parts (all by default, in this order; each under 10 minutes, all together under 15, so it fits a
# short GPU slot; the times are estimates for one current GPU and 16 cores until a run replaces them):
#   tests     the test suite, its CUDA tests included
#   amp       fp32/fp16/bf16 training steps with channels-last through busbench's train_step
#   resume    the real trainer on CUDA interrupted and resumed, fp16 (with its scaler) and bf16
#   multigpu  the autocast dtype inside nn.DataParallel replicas, from cuda:0 and cuda:1, and a
#             train.multi_gpu run on train.device=cuda:1 (skipped with one GPU)
#   loader    loader img/s with 0, 4 and 8 workers, and training img/s through the loader against the
#             step alone (the loader-vs-GPU ratio)
#   profile   busbench profile --device cuda --amp auto, in two model orders (peak memory must not move)
#   predict   busbench predict --device cuda on a run trained on CUDA, against --device cpu
#   compile   train.compile and eval.compile on CUDA
#   train     a short real BUSI training (synthetic without BUSI) on CUDA and the same on the CPU,
#             validation Dice compared
# OUT defaults to gpu-check/, BUSI_ROOT to ../shared/data/Dataset_BUSI_with_GT. PYTHON names the
# interpreter with busbench installed (default: .venv/bin/python, else python3). --dry-run prints the
# chosen parts with their expected time and runs nothing.
set -euo pipefail

PARTS=(tests amp resume multigpu loader profile predict compile train)
declare -A MINUTES=([tests]=3 [amp]=1 [resume]=1 [multigpu]=1 [loader]=2 [profile]=1 [predict]=1 [compile]=2
                    [train]=2)
declare -A WHAT=(
    [tests]="the test suite, CUDA tests included"
    [amp]="fp32/fp16/bf16 training steps, channels-last"
    [resume]="trainer interrupted and resumed on CUDA (fp16 + scaler, bf16)"
    [multigpu]="replica autocast dtype, multi_gpu from cuda:1 (skipped with one GPU)"
    [loader]="loader img/s by workers; loader-vs-GPU ratio"
    [profile]="profile --device cuda --amp auto, two model orders"
    [predict]="predict --device cuda against --device cpu"
    [compile]="train.compile and eval.compile on CUDA"
    [train]="short real BUSI training, CUDA against CPU"
)

usage() { sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'; }

DRY_RUN=0
CHOSEN=()
POSITIONAL=()
while (( $# )); do
    case "$1" in
        --dry-run) DRY_RUN=1 ;;
        --part)
            [[ $# -ge 2 ]] || { echo "gpu_check: --part needs a name: ${PARTS[*]}" >&2; exit 2; }
            [[ -n "${MINUTES[$2]:-}" ]] || { echo "gpu_check: unknown part '$2'; choose from: ${PARTS[*]}" >&2; exit 2; }
            CHOSEN+=("$2"); shift ;;
        --part=*)
            name=${1#--part=}
            [[ -n "${MINUTES[$name]:-}" ]] || { echo "gpu_check: unknown part '$name'; choose from: ${PARTS[*]}" >&2; exit 2; }
            CHOSEN+=("$name") ;;
        -h|--help) usage; exit 0 ;;
        -*) echo "gpu_check: unknown option '$1'; see --help" >&2; exit 2 ;;
        *) POSITIONAL+=("$1") ;;
    esac
    shift
done
(( ${#POSITIONAL[@]} <= 2 )) || { echo "gpu_check: at most OUT and BUSI_ROOT; got ${POSITIONAL[*]}" >&2; exit 2; }
(( ${#CHOSEN[@]} )) || CHOSEN=("${PARTS[@]}")
OUT=${POSITIONAL[0]:-gpu-check}
BUSI_ROOT=${POSITIONAL[1]:-../shared/data/Dataset_BUSI_with_GT}
HERE=$(cd "$(dirname "$0")" && pwd)

TOTAL=0
for part in "${CHOSEN[@]}"; do TOTAL=$(( TOTAL + MINUTES[$part] )); done
if [[ $DRY_RUN == 1 ]]; then
    echo "gpu_check dry run: would write to $OUT"
    for part in "${CHOSEN[@]}"; do printf '  %-9s ~%2d min  %s\n' "$part" "${MINUTES[$part]}" "${WHAT[$part]}"; done
    echo "  total     ~$TOTAL min (estimated; no GPU has run it yet)"
    exit 0
fi

if [[ -z "${PYTHON:-}" ]]; then
    if [[ -x .venv/bin/python ]]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
run() {  # print the command, then run it; a failure stops the script
    echo "+ $*" | tee -a "$OUT/commands.txt"
    "$@"
}
nvidia-smi > "$OUT/nvidia-smi.txt"
"$PYTHON" -c "import torch; assert torch.cuda.is_available(), 'torch sees no CUDA device'; \
print(torch.__version__, torch.version.cuda, torch.cuda.device_count(), torch.cuda.get_device_name(0))" \
    | tee "$OUT/torch-cuda.txt"
GPUS=$("$PYTHON" -c "import torch; print(torch.cuda.device_count())")
CHECKS="$HERE/gpu_checks.py"

part_tests() { run "$PYTHON" -m pytest -q -p no:cacheprovider --junitxml="$OUT/pytest.xml"; }
part_amp() { run "$PYTHON" "$CHECKS" amp "$OUT"; }
part_resume() { run "$PYTHON" "$CHECKS" resume "$OUT"; }
part_multigpu() {
    if (( GPUS < 2 )); then
        echo "skipped: needs at least 2 GPUs, this machine has $GPUS" | tee "$OUT/multigpu-skipped.txt"
        return
    fi
    run "$PYTHON" "$CHECKS" replicas "$OUT"
    run "$PYTHON" -m busbench run demo --set train.device=cuda:1 --set train.multi_gpu=true --set train.amp=bf16 \
        --set train.epochs=2 --set "output_dir=$OUT/multigpu-run"
}
part_loader() {
    run "$PYTHON" "$HERE/loader_speed.py" --workers 0 4 8 --preset standard nnunet ccf_bdci_2021 --epochs 1 \
        | tee "$OUT/loader_speed.md"
    run "$PYTHON" "$CHECKS" loader "$OUT"
}
part_profile() {
    for order in "unext cmunext unet" "unet cmunext unext"; do
        read -r -a names <<< "$order"
        run "$PYTHON" -m busbench profile --device cuda --amp auto --size 256 --batch 8 --seconds 10 \
            "${names[@]/#/--model=}" --out "$OUT/profile-${names[0]}-first"
    done
}
part_predict() {
    run "$PYTHON" -m busbench run demo --set train.device=cuda --set train.amp=auto --set train.epochs=2 \
        --set "output_dir=$OUT/predict-run"
    cell=$(dirname "$(find "$OUT/predict-run" -name config.yaml -path '*unet*' | head -n 1)")
    mkdir -p "$OUT/predict-images"
    run "$PYTHON" -c "import sys; from PIL import Image; from busbench.data.synthetic import generate_cases; \
[Image.fromarray(c.image).save(f'{sys.argv[1]}/scan{i}.png') for i, c in enumerate(generate_cases(4, 96, seed=9))]" \
        "$OUT/predict-images"
    for device in cuda cpu; do
        run "$PYTHON" -m busbench predict --run "$cell" --input "$OUT/predict-images" --out "$OUT/predict-$device" \
            --device "$device"
    done
    paste -d, "$OUT/predict-cuda/predictions.csv" "$OUT/predict-cpu/predictions.csv" > "$OUT/predict-cuda-vs-cpu.csv"
}
part_compile() {
    run "$PYTHON" -m busbench run demo --set train.device=cuda --set train.compile=true --set eval.compile=true \
        --set train.epochs=2 --set "output_dir=$OUT/compile-run"
}
part_train() {
    local dataset=(--set data.dataset=synthetic --set data.root=null --set "data.options={count: 300, size: 160}")
    if [[ -d "$BUSI_ROOT" ]]; then dataset=(--set "data.root=$BUSI_ROOT"); else
        echo "no BUSI at $BUSI_ROOT: synthetic data instead" | tee "$OUT/train-dataset.txt"; fi
    for device in cuda cpu; do
        run "$PYTHON" -m busbench run busi "${dataset[@]}" --set "train.device=$device" --set model.name=unext \
            --set input.size=128 --set train.epochs=3 --set train.patience=null --set train.deterministic=true \
            --set "output_dir=$OUT/train-$device" --fold 1
    done
    run "$PYTHON" "$CHECKS" compare "$OUT" "$(find "$OUT/train-cuda" -path '*fold-1/log.csv' | head -n 1)" \
        "$(find "$OUT/train-cpu" -path '*fold-1/log.csv' | head -n 1)"
}

echo "gpu_check: parts ${CHOSEN[*]} (~$TOTAL min); figures go to $OUT; python: $PYTHON; $GPUS GPU(s)"
: > "$OUT/commands.txt"
for part in "${CHOSEN[@]}"; do
    echo "== $part: ${WHAT[$part]} (~${MINUTES[$part]} min)"
    started=$SECONDS
    "part_$part"
    echo "$part,$(( SECONDS - started ))" >> "$OUT/part_seconds.csv"
done
echo "gpu_check: done; commands in $OUT/commands.txt, figures:"
find "$OUT" -maxdepth 2 -type f \( -name '*.csv' -o -name '*.md' -o -name '*.txt' -o -name '*.xml' \) | sort
