# Developer commands. `make test` and `make demo` install whatever is missing first (see README).
SHELL := /bin/bash
.DEFAULT_GOAL := help

# The Python Debian's QGIS is built against; `python3` on PATH may be another one without PyQGIS.
SYS_PYTHON := /usr/bin/python3
VENV := .venv
VPY := $(VENV)/bin/python
# Widgets need a platform plugin even without a display.
export QT_QPA_PLATFORM ?= offscreen
PORT ?= 8765
# Where `make zip` writes (tests point it at a temporary folder).
DIST ?= dist

.PHONY: help setup test test-qgis340 lint demo deploy zip sandbox bench clean

help:
	@echo "make test     install what is missing, then ruff and the whole test suite"
	@echo "make test-qgis340  the same suite on QGIS 3.40 LTR in a Debian 13 root (made once; root needed then)"
	@echo "make demo     start the sandbox and QGIS with the plugin pointed at it (Xvfb + screenshot without a display)"
	@echo "make deploy   copy the plugin into your default QGIS profile"
	@echo "make zip      build dist/satellite_tasking-<version>.zip for 'Install from ZIP'"
	@echo "make sandbox  run the local API emulator (PORT=$(PORT))"
	@echo "make bench    run every bench/bench_*.py"
	@echo "make lint     ruff check"

setup:
	@scripts/ensure_system.sh
	@scripts/ensure_venv.sh
	@scripts/ensure_sdk_venv.sh
	@scripts/ensure_up42_venv.sh

lint: setup
	$(VENV)/bin/ruff check .

# pytest's own exit code is kept: 5 ("no tests collected") fails the target like any other failure.
# PLANET_SDK_PYTHON: Planet's own SDK checks the sandbox's Orders API from its own venv (requirements-sdk.txt);
# UP42_SDK_PYTHON: up42-py checks the sandbox's UP42 API from its own (requirements-up42.txt; absent below Python 3.11).
test: lint
	PLANET_SDK_PYTHON=$(CURDIR)/.venv-planet-sdk/bin/python UP42_SDK_PYTHON=$(CURDIR)/.venv-up42/bin/python \
		$(VPY) -m pytest tests -ra --timeout=600

# The same suite on QGIS 3.40 LTR / Python 3.13, in a Debian 13 root made by debootstrap and kept for next time
# (QGIS340_ROOT, default /var/cache/satellite-tasking/debian13-qgis340); extra pytest arguments via ARGS.
test-qgis340:
	scripts/test_qgis340.sh $(ARGS)

demo: setup
	scripts/demo.sh

deploy:
	$(SYS_PYTHON) scripts/package.py deploy

zip:
	$(SYS_PYTHON) scripts/package.py zip --out $(DIST)

# The sandbox is standard library only, so any python3 runs it.
sandbox:
	python3 -m sandbox --port $(PORT) $(ARGS)

bench: setup
	@set -e; shopt -s nullglob; files=(bench/bench_*.py); \
	if [ $${#files[@]} -eq 0 ]; then echo "no bench/bench_*.py yet"; exit 0; fi; \
	for f in "$${files[@]}"; do echo "== $$f"; $(VPY) "$$f"; done

clean:
	rm -rf build dist .pytest_cache .ruff_cache test-output .demo
