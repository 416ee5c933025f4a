#!/usr/bin/env bash
# The CPU-scale BUSI table and the fairness delta (docs/benchmarks.md, "Results on BUSI"), on 2 cores:
# two fold jobs of one thread each at a time (xargs -P 2). Rerunning skips finished folds.
#   bash benchmarks/busi_cpu_table.sh [OUT]     (default OUT: benchmarks/results/busi-cpu)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-benchmarks/results/busi-cpu}
BUSBENCH=${BUSBENCH:-busbench}
CONFIG=benchmarks/busi_cpu_table.yaml
export BUSBENCH_DATA=${BUSBENCH_DATA:-../shared/data}  # the config names ${BUSBENCH_DATA}/Dataset_BUSI_with_GT
DELTA=(--set 'grid.models=[{name: unext}]' --set 'train.seeds=[0]')  # its grouped runs: the table's unext-seed0
mkdir -p "$OUT"
{
  $BUSBENCH jobs "$CONFIG"
  # the delta's image-level runs; its grouped runs are the table's unext cell
  $BUSBENCH delta "$CONFIG" "${DELTA[@]}" --jobs | grep -- '--set split.protocol=image_level'
} > "$OUT/jobs.txt"
started=$(date +%s)
# each job's exit status, seconds and command go to joblog.txt; xargs exits non-zero if any job failed
: > "$OUT/joblog.txt"
# shellcheck disable=SC2016  # $1 and $SECONDS belong to the inner shell
OMP_NUM_THREADS=1 xargs -P 2 -d '\n' -n 1 bash -c \
  'SECONDS=0; eval "$1"; rc=$?; echo "$rc $SECONDS $1" >> "$0"; exit $((rc != 0))' "$OUT/joblog.txt" < "$OUT/jobs.txt"
echo "training wall time: $(( $(date +%s) - started )) s on $(nproc) cores" | tee "$OUT/wall_time.txt"
# images/s of every row as it runs (each trained variant's fold model and ensemble, with its TTA views and in its
# train.amp's precision, on this CPU), read by the report's cost table; the seeds of a model are measured once
$BUSBENCH profile --run runs/benchmarks/busi-cpu --device cpu --out runs/benchmarks/busi-cpu/profile
cp runs/benchmarks/busi-cpu/profile/cost_profile.csv "$OUT/"
# no qualitative figure: it would copy dataset images into the results; a fresh folder, so that no file of an
# earlier report (another dataset key) stays beside the new one
rm -rf "$OUT/report"
$BUSBENCH report runs/benchmarks/busi-cpu --out "$OUT/report" --no-qualitative
# the results as a bundle for a leaderboard; the config's split (test 20 %, 5 folds, seed 42) is registry busi-v1's,
# which --registry checks case by case (the config keeps the plain split: the delta below re-splits it image-level)
$BUSBENCH bundle runs/benchmarks/busi-cpu --out "$OUT/busi-cpu.bundle.json" --registry busi-v1
$BUSBENCH delta "$CONFIG" "${DELTA[@]}"
cp runs/benchmarks/busi-cpu-delta/delta.csv runs/benchmarks/busi-cpu-delta/delta.md "$OUT/"
