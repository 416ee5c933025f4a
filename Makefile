# Two entry points a fresh machine needs: `make demo` (the main job) and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
# The real datasets the tests and shipped configs read (src/busbench/configs/*.yaml name ${BUSBENCH_DATA}/...).
export BUSBENCH_DATA ?= ../shared/data

.PHONY: install demo test test-fast docs clean

# constraints.txt pins this machine's CPU torch; the package itself only asks for torch>=2.5.
$(VENV)/.installed: pyproject.toml constraints.txt
	@echo "creating $(VENV) with $(PYTHON)"
	$(PYTHON) -m venv $(VENV)
	@echo "installing busbench and its test tools (torch 2.13.0 CPU from constraints.txt, MONAI, scikit-learn,"
	@echo "medpy, pytest, ruff, mkdocs): about 2 minutes on a 2-core machine; pip prints each package it collects"
	$(BIN)/python -m pip install --progress-bar off -c constraints.txt -e '.[test]'
	@if $(BIN)/python -m pip list 2>/dev/null | grep -qi '^nvidia-'; then \
		echo "error: a CUDA build of torch was installed; constraints.txt must pin torch==2.13.0" >&2; exit 1; fi
	@$(BIN)/python -c "import torch; print('installed torch', torch.__version__)"
	touch $@

# nnU-Net v2, an oracle of the tests only (`make test`, not `make demo`): its requirements less timm, then nnunetv2 and
# its network library without their dependencies (see nnunet-oracle.txt for why).
$(VENV)/.oracles: $(VENV)/.installed nnunet-oracle.txt
	@echo "installing nnU-Net v2, a test oracle, without timm and its CUDA torchvision (see nnunet-oracle.txt)"
	$(BIN)/python -m pip install --progress-bar off -c constraints.txt -r nnunet-oracle.txt
	$(BIN)/python -m pip install --progress-bar off -c constraints.txt --no-deps nnunetv2==2.8.1 \
		dynamic-network-architectures==0.4.4
	@if $(BIN)/python -m pip list 2>/dev/null | grep -qi '^nvidia-'; then \
		echo "error: a CUDA build of torch was installed; constraints.txt must pin torch==2.13.0" >&2; exit 1; fi
	touch $@

install: $(VENV)/.installed

demo: install
	$(BIN)/busbench demo

test: install $(VENV)/.oracles docs
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy src benchmarks
	$(BIN)/python -m pytest -n auto --dist loadfile

# The edit-test loop: every test but those marked slow or real_data (pyproject's markers), on one worker per core.
test-fast: install $(VENV)/.oracles
	$(BIN)/python -m pytest -n auto --dist loadfile -m "not slow and not real_data"

# The documentation site; --strict turns a broken link or a page missing from the nav into an error.
docs: install
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet --site-dir site

clean:
	rm -rf $(VENV) busbench-demo site
