#!/usr/bin/env bash
# The GPU results table at equal wall-clock, as one call: the zoo's 11 seed models on BUSI (benchmarks/gpu_table.yaml,
# split registry busi-v1, 256 px), each given the same training minutes, scored on the frozen test set, reported.
#
#   benchmarks/gpu_table.sh [--minutes M] [--size S] [--device cuda|cpu] [--models a,b,...] [--wheels DIR]
#                           [--min-fold-minutes F] [--hard-limit SECONDS] [--dry-run] [OUT [BUSI_ROOT]]
#
# --minutes M (default 9) is the whole script's wall-clock target. Of it, RESERVE_S goes to setup, data
# preparation, the report and the bundle, and MODEL_S and FOLD_S per model and fold to what is not training
# (loader start, test scoring, the ensemble); the rest is shared equally by the models. Each model trains the
# same folds of busi-v1: all 5 where every fold still gets F minutes (default 0.75), else as many as do (at
# least 1); its share is split equally over them as train.max_minutes (per fold model; the trainer stops
# before the epoch that would pass it). The plan is printed first and kept in plan.txt; the report's setup
# states each model's budget, its fold models and why they stopped. --hard-limit S (the device call's timeout
# less a margin) keeps RESERVE_S / 2 before S for the report: a model that would run into it is interrupted
# (its finished folds are reported) and the models after it are skipped, all named at the end.
# --models (default: all 11) and --size (default 256) make the toy check on the CPU:
#   benchmarks/gpu_table.sh --minutes 1 --size 64 --device cpu --models unext,cmunext OUT
# OUT (default $OUT, else gpu-table/) receives at most six files, no folder: gpu_table.log, plan.txt,
# accuracy.md (the main table), setup.md, busi-gpu-table.bundle.json and details.tar.gz (the report and every
# fold's config, log and done.json; no checkpoints). BUSI_ROOT defaults to $BUSBENCH_DATA/Dataset_BUSI_with_GT,
# else shared/data/Dataset_BUSI_with_GT in the repository (where the device machine has it), else
# ../shared/data/Dataset_BUSI_with_GT. --wheels (default the repository's .gpu-wheels): benchmarks/gpu_setup.sh.
set -euo pipefail

ALL_MODELS=unet,attention_unet,unet_plus_plus,unet3plus,transunet,medt,unext,swin_unet,cmunet,cmunext,ukan
# Seconds outside training, guessed for one H100 until a GPU run measures them (its log prints the real ones).
RESERVE_S=150 MODEL_S=20 FOLD_S=5 MAX_FOLDS=5

usage() { awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; }
die() { echo "gpu_table: $*" >&2; exit 2; }
number() {  # number OPTION VALUE: VALUE is a decimal number above 0, else the script stops
    [[ $2 =~ ^[0-9]+([.][0-9]+)?$ ]] && awk -v x="$2" 'BEGIN { exit !(x > 0) }' || die "$1 takes a number > 0, not '$2'"
}

MINUTES=9 SIZE=256 DEVICE=cuda MODELS=$ALL_MODELS WHEELS="" MIN_FOLD=0.75 HARD_LIMIT="" DRY_RUN=0
POSITIONAL=()
while (( $# )); do
    case "$1" in
        --minutes) number --minutes "${2:-}"; MINUTES=$2; shift ;;
        --size) [[ "${2:-}" =~ ^[0-9]+$ ]] && (( $2 >= 32 && $2 % 32 == 0 )) || die "--size takes a multiple of 32 px"
                SIZE=$2; shift ;;
        --device) [[ "${2:-}" =~ ^(cuda|cpu)$ ]] || die "--device takes cuda or cpu"; DEVICE=$2; shift ;;
        --models) [[ "${2:-}" =~ ^[A-Za-z0-9_.]+(,[A-Za-z0-9_.]+)*$ ]] || die "--models takes names joined by commas"
                  MODELS=$2; shift ;;
        --wheels) [[ $# -ge 2 ]] || die "--wheels needs a folder"; WHEELS=$2; shift ;;
        --min-fold-minutes) number --min-fold-minutes "${2:-}"; MIN_FOLD=$2; shift ;;
        --hard-limit) [[ "${2:-}" =~ ^[0-9]+$ ]] || die "--hard-limit takes whole seconds"; HARD_LIMIT=$2; shift ;;
        --dry-run) DRY_RUN=1 ;;
        -h|--help) usage; exit 0 ;;
        -*) die "unknown option '$1'; see --help" ;;
        *) POSITIONAL+=("$1") ;;
    esac
    shift
done
(( ${#POSITIONAL[@]} <= 2 )) || die "at most OUT and BUSI_ROOT; got ${POSITIONAL[*]}"
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WHEELS=${WHEELS:-$ROOT/.gpu-wheels}
OUT=${POSITIONAL[0]:-${OUT:-gpu-table}}
BUSI_ROOT=${POSITIONAL[1]:-}
if [[ -z "$BUSI_ROOT" ]]; then
    for candidate in ${BUSBENCH_DATA:+"$BUSBENCH_DATA/Dataset_BUSI_with_GT"} "$ROOT/shared/data/Dataset_BUSI_with_GT" \
                     "$ROOT/../shared/data/Dataset_BUSI_with_GT"; do
        [[ -d "$candidate" ]] && { BUSI_ROOT=$candidate; break; }
    done
fi
[[ -d "$BUSI_ROOT" ]] || die "no BUSI folder ${BUSI_ROOT:-found}: give BUSI_ROOT (Dataset_BUSI_with_GT) after OUT"
IFS=, read -r -a NAMES <<< "$MODELS"

# The plan: each model's training seconds, the folds they allow and train.max_minutes per fold model.
read -r FOLDS FOLD_MINUTES MODEL_SECONDS FIVE_FOLD_MINUTES < <(awk -v m="$MINUTES" -v n="${#NAMES[@]}" \
    -v reserve="$RESERVE_S" -v model="$MODEL_S" -v fold="$FOLD_S" -v least="$MIN_FOLD" -v most="$MAX_FOLDS" 'BEGIN {
    share = (m * 60 - reserve) / n - model            # one model: its folds, training and their overhead
    k = 1
    while (k < most && (share - (k + 1) * fold) / (k + 1) >= least * 60) k++
    train = (share - k * fold) / k
    if (train < 6) train = 6                          # never below 0.1 min: the plan says it overruns
    printf "%d %.2f %.0f %.1f\n", k, train / 60, k * train, (reserve + n * (model + most * (fold + least * 60))) / 60
}')
PLAN="$(date -u +%FT%TZ): ${#NAMES[@]} models (${MODELS//,/, }) on BUSI at $SIZE px, $DEVICE, --minutes $MINUTES
each model: $( ((FOLDS > 1)) && echo "folds 1-$FOLDS" || echo "fold 1") of busi-v1's $MAX_FOLDS, train.max_minutes \
$FOLD_MINUTES per fold model ($MODEL_SECONDS s of training per model)
$( ((FOLDS < MAX_FOLDS)) && echo "fewer than $MAX_FOLDS folds: all $MAX_FOLDS at $MIN_FOLD min each need \
--minutes $FIVE_FOLD_MINUTES or more" || echo "all $MAX_FOLDS folds")
outside training (estimated): ${RESERVE_S} s setup, data and report, ${MODEL_S} s per model, ${FOLD_S} s per fold model
BUSI: $BUSI_ROOT"
if [[ $DRY_RUN == 1 ]]; then echo "$PLAN"; exit 0; fi

PYTHON=${PYTHON:-python3}
mkdir -p "$OUT" || die "cannot make $OUT"
OUT=$(cd "$OUT" && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/gpu-table.XXXXXX")
exec > >(tee "$OUT/gpu_table.log") 2>&1
TEE=$!
echo "$PLAN" | tee "$OUT/plan.txt"
# shellcheck source=benchmarks/gpu_setup.sh
source "$ROOT/benchmarks/gpu_setup.sh"
gpu_setup "$ROOT" "$WHEELS" "$WORK/site"
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || echo "no nvidia-smi"; } 2>&1

FOLD_ARGS=()
for (( k = 1; k <= FOLDS; k++ )); do FOLD_ARGS+=(--fold "$k"); done
SETTINGS=(--set "input.size=$SIZE" --set "data.root=$BUSI_ROOT" --set "train.device=$DEVICE"
          --set "train.max_minutes=$FOLD_MINUTES" --set "output_dir=$WORK/runs")
# a model starts only if its share and the report (RESERVE_S / 2) still end before the hard limit
LATEST=$(( ${HARD_LIMIT:-999999} - MODEL_SECONDS - MODEL_S - FOLDS * FOLD_S - RESERVE_S / 2 ))
FAILED=() SKIPPED=()

finish() {  # also after a failure: what there is of the report, and each fold's small records (no checkpoints)
    set +e
    (cd "$WORK" && find report runs -type f ! -name '*.pt' ! -path 'runs/data/*' -size -4M \( -path 'report/*' \
        -o -name '*.csv' -o -name '*.json' -o -name '*.yaml' -o -name '*.md' \) -print 2> /dev/null \
        | tar czf "$OUT/details.tar.gz" -T -)
    local failed="${FAILED[*]:+; FAILED: ${FAILED[*]}}" skipped="${SKIPPED[*]:+; skipped, out of time: ${SKIPPED[*]}}"
    echo "gpu_table: $SECONDS s in all (target $(awk -v m="$MINUTES" 'BEGIN { print m * 60 }') s)$failed$skipped;" \
         "files in $OUT:"
    ls -l "$OUT"
    exec > /dev/null 2>&1
    wait "$TEE"  # the log complete before the script ends
}
trap finish EXIT

for name in "${NAMES[@]}"; do  # one process per model: a model that fails leaves the others' results
    if (( SECONDS > LATEST )); then SKIPPED+=("$name"); continue; fi
    model="{name: $name}"
    [[ $name == medt ]] && model="{name: medt, kwargs: {img_size: $SIZE}, label: medt}"  # built for one side
    started=$SECONDS
    echo "gpu_table: $name from $started s"
    limit=()
    [[ -n "$HARD_LIMIT" ]] && limit=(timeout -s INT -k 15 $(( HARD_LIMIT - RESERVE_S / 2 - SECONDS )))
    "${limit[@]}" "$PYTHON" -m busbench --quiet run "$ROOT/benchmarks/gpu_table.yaml" "${SETTINGS[@]}" \
        --set "grid.models=[$model]" "${FOLD_ARGS[@]}" || FAILED+=("$name")
    echo "gpu_table: $name took $(( SECONDS - started )) s"
done
echo "gpu_table: report from $SECONDS s"
"$PYTHON" -m busbench report "$WORK/runs" --out "$WORK/report" --no-qualitative
cp "$WORK/report/setup.md" "$OUT/setup.md"
cp "$WORK"/report/tables/*_accuracy.md "$OUT/accuracy.md"
"$PYTHON" -m busbench bundle "$WORK/runs/gpu-table" --out "$OUT/busi-gpu-table.bundle.json"
(( ${#FAILED[@]} == 0 && ${#SKIPPED[@]} == 0 ))
