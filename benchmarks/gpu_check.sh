#!/usr/bin/env bash
# The checks only a machine with a CUDA GPU can make, as one call on a machine with only torch:
#
#   benchmarks/gpu_check.sh [--dry-run] [--device cuda|cpu] [--wheels DIR] [--part NAME]... [OUT [BUSI_ROOT]]
#
# Setup installs the wheels of benchmarks/gpu_wheels.sh (DIR, default the repository's .gpu-wheels) with
# pip --no-index --no-deps --target into a scratch folder, puts src/ first on PYTHONPATH and checks every
# requirement of pyproject.toml (FAIL setup stops the script). Each part then prints `PASS name figure` or
# `FAIL name why`; the script exits 1 on any FAIL. Parts, in order of value (estimated seconds on one
# H100 until a run replaces them):
#   first:  resume     the trainer interrupted after epoch 2 and resumed (fp16 + scaler, bf16, deterministic)
#           predict    a run trained on CUDA predicts on CUDA and on the CPU, fp32: >= 99 % of pixels agree
#           amp        training steps in fp32/fp16/bf16, channels-last; amp: auto is bf16 on Ampere or newer
#           replicas   parallel_apply(devices=[0, 0]): both replicas compute in the configured dtype
#           cudatests  tests/pipeline/test_pipeline.py and tests/train/test_compile.py on the CUDA machine
#   second: loader     loader/step img/s ratio per augmentation preset (>= 0.5)
#           profile    busbench profile in two model orders: peak memory the same in both
#           compile    a run with train.compile and eval.compile
#           train      a short fp32 training on CUDA (cuDNN benchmark on) and on the CPU: Dice within 0.1
# --part takes a part, first, second or all (default: first). The script times itself and fails a group
# that runs over its limit (first 360 s, second 480 s). OUT (default $OUT, else gpu-check/) receives at
# most three files: gpu_check.log, summary.csv (part,verdict,seconds,detail) and details.tar.gz (every
# part's log and figures). BUSI_ROOT (default ../shared/data/Dataset_BUSI_with_GT) feeds `train`, else
# synthetic data. PYTHON names the interpreter (default python3). --device cpu runs the same plumbing on
# the CPU (its verdicts say nothing of CUDA). KEEP_WORK=1 keeps the scratch folder. --dry-run prints the
# parts and their times, runs nothing.
set -uo pipefail

PARTS=(resume predict amp replicas cudatests loader profile compile train)
FIRST=(resume predict amp replicas cudatests)
SECOND=(loader profile compile train)
declare -A ESTIMATE=([setup]=30 [resume]=60 [predict]=75 [amp]=30 [replicas]=10 [cudatests]=120 [loader]=120
                     [profile]=90 [compile]=90 [train]=150)
declare -A LIMIT=([first]=360 [second]=480)

usage() { sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//'; }
die() { echo "gpu_check: $*" >&2; exit 2; }

DRY_RUN=0 DEVICE=cuda WHEELS="" GROUP="" CHOSEN=() POSITIONAL=()
choose() {
    case "$1" in
        first) CHOSEN+=("${FIRST[@]}"); GROUP=first ;;
        second) CHOSEN+=("${SECOND[@]}"); GROUP=second ;;
        all) CHOSEN+=("${PARTS[@]}") ;;
        *) [[ -n "${ESTIMATE[$1]:-}" && "$1" != setup ]] || die "unknown part '$1'; choose from: first second all ${PARTS[*]}"
           CHOSEN+=("$1") ;;
    esac
}
while (( $# )); do
    case "$1" in
        --dry-run) DRY_RUN=1 ;;
        --part) [[ $# -ge 2 ]] || die "--part needs a name: first second all ${PARTS[*]}"; choose "$2"; shift ;;
        --part=*) choose "${1#--part=}" ;;
        --device) [[ "${2:-}" =~ ^(cuda|cpu)$ ]] || die "--device takes cuda or cpu"; DEVICE=$2; shift ;;
        --wheels) [[ $# -ge 2 ]] || die "--wheels needs a folder"; WHEELS=$2; shift ;;
        -h|--help) usage; exit 0 ;;
        -*) die "unknown option '$1'; see --help" ;;
        *) POSITIONAL+=("$1") ;;
    esac
    shift
done
(( ${#POSITIONAL[@]} <= 2 )) || die "at most OUT and BUSI_ROOT; got ${POSITIONAL[*]}"
(( ${#CHOSEN[@]} )) || { CHOSEN=("${FIRST[@]}"); GROUP=first; }
(( ${#CHOSEN[@]} == ${#FIRST[@]} || ${#CHOSEN[@]} == ${#SECOND[@]} )) || GROUP=""
OUT=${POSITIONAL[0]:-${OUT:-gpu-check}}
BUSI_ROOT=${POSITIONAL[1]:-../shared/data/Dataset_BUSI_with_GT}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WHEELS=${WHEELS:-$ROOT/.gpu-wheels}

TOTAL=${ESTIMATE[setup]}
for part in "${CHOSEN[@]}"; do TOTAL=$(( TOTAL + ESTIMATE[$part] )); done
if [[ $DRY_RUN == 1 ]]; then
    echo "gpu_check dry run: would write gpu_check.log, summary.csv and details.tar.gz to $OUT"
    for part in setup "${CHOSEN[@]}"; do printf '  %-9s ~%3d s\n' "$part" "${ESTIMATE[$part]}"; done
    printf '  %-9s ~%3d s%s\n' total "$TOTAL" "${GROUP:+ (limit ${LIMIT[$GROUP]} s)}"
    exit 0
fi

PYTHON=${PYTHON:-python3}
mkdir -p "$OUT" || die "cannot make $OUT"
OUT=$(cd "$OUT" && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/gpu-check.XXXXXX")
CHECKS="$ROOT/benchmarks/gpu_checks.py"
exec > >(tee "$OUT/gpu_check.log") 2>&1
TEE=$!
echo "part,verdict,seconds,detail" > "$OUT/summary.csv"
FAILED=0

finish() {  # the tarball of every part's log and figures; never the checkpoints, caches or wheels
    (cd "$WORK" && find . -path ./site -prune -o -type f -size -4M \( -name '*.log' -o -name '*.csv' -o -name '*.txt' \
        -o -name '*.xml' -o -name '*.json' -o -name '*.md' -o -name '*.yaml' \) -print | tar czf "$OUT/details.tar.gz" -T -)
    [[ -n "${KEEP_WORK:-}" ]] || rm -rf "$WORK"
    echo "gpu_check: $(( SECONDS )) s in all; $( ((FAILED)) && echo 'some part FAILED' || echo 'every part passed'); files in $OUT"
    exec >&- 2>&-
    wait "$TEE"  # the log is whole before the script exits
}

record() {  # record PART STARTED RC: the part's verdict line from its log, or FAIL when it left none
    local part=$1 log="$WORK/$1.log" line
    line=$(grep -E "^(PASS|FAIL) $part( |$)" "$log" | tail -n 1)
    [[ -n "$line" ]] || line="FAIL $part exited $3 without a verdict"
    [[ $3 == 0 || $line == FAIL* ]] || line="FAIL $part exited $3 after: ${line#* $part }"
    local verdict=${line%% *} detail=${line#* $part} seconds=$(( SECONDS - $2 ))
    detail=${detail# }
    echo "$line (${seconds} s)"
    if [[ $verdict == FAIL ]]; then FAILED=1; echo "--- end of $part.log:"; tail -n 15 "$log"; echo "---"; fi
    printf '%s,%s,%s,"%s"\n' "$part" "$verdict" "$seconds" "${detail//\"/\'}" >> "$OUT/summary.csv"
}

part_setup() {
    if compgen -G "$WHEELS/*.whl" > /dev/null; then
        "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --disable-pip-version-check \
            --target "$WORK/site" "$WHEELS"/*.whl || { echo "FAIL setup pip could not install $WHEELS/*.whl"; return 1; }
    else
        echo "no wheels in $WHEELS (benchmarks/gpu_wheels.sh downloads them): using what is installed"
    fi
    { nvidia-smi || echo "no nvidia-smi"; } > "$WORK/nvidia-smi.txt" 2>&1
    "$PYTHON" "$CHECKS" setup "$WORK" --device "$DEVICE"
}
part_resume() { "$PYTHON" "$CHECKS" resume "$WORK" --device "$DEVICE"; }
part_predict() { "$PYTHON" "$CHECKS" predict "$WORK" --device "$DEVICE"; }
part_amp() { "$PYTHON" "$CHECKS" amp "$WORK" --device "$DEVICE"; }
part_replicas() { "$PYTHON" "$CHECKS" replicas "$WORK" --device "$DEVICE"; }
part_loader() { "$PYTHON" "$CHECKS" loader "$WORK" --device "$DEVICE"; }
part_cudatests() {
    local spread=()
    "$PYTHON" -c "import xdist" 2> /dev/null && spread=(-n 2 --dist loadfile)
    (cd "$ROOT" && "$PYTHON" -m pytest -q -p no:cacheprovider "${spread[@]}" --junitxml="$WORK/cudatests.xml" \
        tests/pipeline/test_pipeline.py tests/train/test_compile.py)
    "$PYTHON" "$CHECKS" cudatests "$WORK" --device "$DEVICE"
}
part_profile() {
    for order in "unext cmunext unet" "unet cmunext unext"; do
        read -r -a names <<< "$order"
        "$PYTHON" -m busbench profile --device "$DEVICE" --amp auto --size 256 --batch 8 --seconds 5 \
            "${names[@]/#/--model=}" --out "$WORK/profile-${names[0]}-first" || return 1
    done
    "$PYTHON" "$CHECKS" profile "$WORK" --device "$DEVICE"
}
part_compile() {
    "$PYTHON" -m busbench run demo --set "train.device=$DEVICE" --set train.compile=true --set eval.compile=true \
        --set train.epochs=2 --set "output_dir=$WORK/compile-run" --fold 1 \
        && "$PYTHON" "$CHECKS" compile "$WORK" --device "$DEVICE"
}
part_train() {
    local dataset=(--set data.dataset=synthetic --set data.root=null --set "data.options={count: 300, size: 160}"
                   --set split.registry=null)
    if [[ -d "$BUSI_ROOT" ]]; then dataset=(--set "data.root=$BUSI_ROOT"); else echo "no BUSI at $BUSI_ROOT: synthetic data"; fi
    for target in device cpu; do
        "$PYTHON" -m busbench run busi "${dataset[@]}" --set "train.device=${target/device/$DEVICE}" \
            --set model.name=unext \
            --set input.size=128 --set train.epochs=3 --set train.patience=null --set train.amp=off \
            --set "train.deterministic=$([[ $target == cpu ]] && echo true || echo false)" \
            --set "output_dir=$WORK/train-$target" --fold 1 || return 1
    done
    "$PYTHON" "$CHECKS" train "$WORK" --device "$DEVICE"
}

export PYTHONPATH="$ROOT/src:$WORK/site${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
echo "gpu_check: parts ${CHOSEN[*]} on $DEVICE (~$TOTAL s estimated); python: $PYTHON; scratch: $WORK"
for part in setup "${CHOSEN[@]}"; do
    started=$SECONDS
    "part_$part" > "$WORK/$part.log" 2>&1
    record "$part" "$started" "$?"
    if [[ $part == setup && $FAILED == 1 ]]; then finish; exit 1; fi
done
if [[ -n "$GROUP" && $DEVICE == cuda ]]; then
    if (( SECONDS > LIMIT[$GROUP] )); then line="FAIL time $GROUP took $SECONDS s, over its ${LIMIT[$GROUP]} s"; FAILED=1
    else line="PASS time $GROUP $SECONDS s of ${LIMIT[$GROUP]} s"; fi
    echo "$line"
    printf 'time,%s,%s,"%s"\n' "${line%% *}" "$SECONDS" "${line#* time }" >> "$OUT/summary.csv"
fi
finish
exit "$FAILED"
