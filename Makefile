# The README's commands. Every target installs what it needs from nothing (a fresh clone).
PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
STAMP   = $(VENV)/.nst-installed
EXTRAS ?= dev,offline,app,video,book

.PHONY: install test test-fast lint book lab demo web figures toc strip sync benchmark benchmark-512 fast-model clean

$(STAMP): pyproject.toml nst_lib/course/kernel.py nst_lib/course/lab_settings.py
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[$(EXTRAS)]'
	$(PY) -m nst_lib.course.kernel install >/dev/null
	$(PY) -m nst_lib.course.lab_settings install >/dev/null  # no news prompt, .py twins hidden, kernels encrypted
	@touch $(STAMP)

install: $(STAMP)  ## create .venv and install the package with its test, offline and web extras

# make test runs the suite on $(TEST_WORKERS) processes (pytest-xdist; a worker takes the next test as it
# finishes one), then the few tests that time themselves (marked serial) alone, so no other test slows them.
# Three on two cores: the tests wait on kernels, subprocesses and browsers, so two workers left the CPU half
# idle (measured on a quiet 2-core AMD EPYC: 8 min 57 s + 44 s with three workers).
TEST_WORKERS ?= 3
PARALLEL = -n $(TEST_WORKERS) --dist worksteal
# the files that hold serial tests (so the serial run collects those alone: collecting all ~80 files took ~15 s)
SERIAL_FILES = $(shell grep -l "pytest.mark.serial" tests/test_*.py)
test: install  ## the whole test suite, offline, in fast mode (also what CI runs; the import contracts included)
	@bash scripts/ensure_chromium.sh
	NST_FAST=1 NST_OFFLINE=1 $(PY) -m pytest -m "not serial" $(PARALLEL)
	NST_FAST=1 NST_OFFLINE=1 $(PY) -m pytest -m serial $(SERIAL_FILES)

# the unit tests: no notebooks, no browser, no JupyterLab, nothing marked slow (under 2 minutes)
FAST_TESTS = -m "not slow and not notebooks" --ignore=tests/test_notebooks.py --ignore=tests/test_jupyterlab_pairing.py \
	--ignore=tests/test_app_browser.py --ignore=tests/test_app_load.py
test-fast: install  ## the unit tests only (your loop while you work; make test before you stop)
	NST_FAST=1 NST_OFFLINE=1 $(PY) -m pytest -q $(FAST_TESTS) $(PARALLEL)

lint: install  ## the import contracts of nst_lib's layers (pyproject.toml [tool.importlinter]), and the core's shape
	$(VENV)/bin/lint-imports
	$(PY) -m pytest -q tests/test_architecture.py

FULL ?= 0
book: install  ## the course as a website in _build/html (every notebook executed in fast mode, cached; FULL=1: real settings)
	$(PY) scripts/build_book.py $(if $(filter 1 yes true,$(FULL)),--full)

lab: install  ## open the course in JupyterLab (as root, e.g. in a container, with --allow-root)
	$(VENV)/bin/jupyter lab notebooks/ $(if $(filter 0,$(shell id -u)),--allow-root)

demo: install  ## stylize a bundled example pair with the CLI into outputs/
	@mkdir -p outputs
	$(VENV)/bin/nst stylize example:grace_hopper example:swirls -o outputs/demo.jpg --size 384 --steps 150

SHARE ?= 0
web: install  ## the Streamlit page on http://localhost:8501, for this machine only (SHARE=1: for the whole network)
	$(VENV)/bin/streamlit run $(CURDIR)/apps/serve.py $(if $(filter 1 yes true,$(SHARE)),--server.address 0.0.0.0)

figures: install  ## regenerate the README's figures (slow: real settings)
	$(PY) scripts/make_readme_figures.py

toc: install  ## regenerate the notebook contents table in the README
	$(PY) scripts/make_toc.py

strip: install  ## strip outputs from the notebooks
	$(VENV)/bin/nbstripout notebooks/*.ipynb

sync: install  ## after editing a notebook or its .py twin outside JupyterLab: copy the newer one's cells into the other
	cd notebooks && ../$(VENV)/bin/jupytext --sync [0-9][0-9]_*.ipynb
	$(VENV)/bin/nbstripout notebooks/*.ipynb

benchmark: install  ## speed: tutorial recipe vs ours at 256 px
	$(PY) benchmarks/speed.py --size 256

benchmark-512: install  ## the same at 512 px (slow)
	$(PY) benchmarks/speed.py --size 512

fast-model: install  ## train the README's fast-transfer model (swirls, 30 min) into outputs/fast/, measure it, draw docs/figures/fast_transfer.png
	$(PY) benchmarks/fast.py train --time-budget 1800
	$(PY) benchmarks/fast.py measure

clean:
	rm -rf $(VENV) outputs .pytest_cache _build
