# shellcheck shell=bash
# Sourced by the GPU scripts (benchmarks/gpu_table.sh) to run busbench from this working tree on a machine that
# has only torch: `gpu_setup ROOT WHEELS SITE` installs the wheels in WHEELS (benchmarks/gpu_wheels.sh downloads
# them: busbench's dependencies that such an image lacks, never torch) with pip --no-index --no-deps --target SITE,
# puts ROOT/src and SITE first on PYTHONPATH, and checks that busbench's CLI imports. Without wheels it uses what
# is installed. PYTHON names the interpreter (default python3). Returns non-zero, with the reason, on failure.
gpu_setup() {
    local root=$1 wheels=$2 site=$3
    if compgen -G "$wheels/*.whl" > /dev/null; then
        "${PYTHON:-python3}" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
            --disable-pip-version-check --target "$site" "$wheels"/*.whl \
            || { echo "gpu_setup: pip could not install $wheels/*.whl" >&2; return 1; }
    else
        echo "gpu_setup: no wheels in $wheels (benchmarks/gpu_wheels.sh downloads them): using what is installed"
    fi
    export PYTHONPATH="$root/src:$site${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
    "${PYTHON:-python3}" -c "import busbench.cli.app" \
        || { echo "gpu_setup: busbench does not import from $root/src (a dependency missing above?)" >&2; return 1; }
}
