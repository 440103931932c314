# Two commands do all the set-up on a fresh machine with Python 3.11:
#   make run    creates .venv if needed, then executes the notebook headless (papermill)
#   make test   creates .venv if needed, then runs pytest (the whole suite, what CI runs)
# make test-fast: the tests that day-to-day edits break, in about a minute (pytest -m "not slow").
# Extra targets: make theory (LaTeX PDF + figures), make bench (speed/accuracy/memory),
# make grade ARGS="SUBMISSION_DIR ..." (grades into build/grades), make handout (build/handout),
# make collect ARGS="REPOSITORY ..." (each team's commit into submissions/).
# Each recipe is one of the plain commands the README lists for machines without make
# (tests/test_setup.py holds the two against each other): make only wraps them.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
ARGS   ?=
SHELL  := /bin/bash

.PHONY: all run test test-fast theory bench grade collect handout clean venv
all: test

# (Re)create the virtual environment when it is missing or older than requirements.txt.
$(STAMP): requirements.txt requirements-keras2.txt
	@echo ">> creating $(VENV) from requirements.txt (first time only, ~2-3 min)"
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -r requirements.txt
	$(PY) -m pip install --no-deps -r requirements-keras2.txt
	@touch $@

venv: $(STAMP)

run: $(STAMP)
	$(PY) run_notebook.py $(ARGS)

test: $(STAMP)
	$(PY) -m pytest $(ARGS)

test-fast: $(STAMP)
	$(PY) -m pytest -m "not slow" $(ARGS)

theory: $(STAMP)
	$(MAKE) -C theory PY=$(abspath $(PY))

bench: $(STAMP)
	$(PY) bench/bench.py $(ARGS)

grade: $(STAMP)
	$(PY) -m grade $(ARGS)

collect: $(STAMP)
	$(PY) -m grade.collect $(ARGS)

handout: $(STAMP)
	$(PY) -m grade.handout --out build/handout

clean:
	rm -rf $(VENV) .pytest_cache build figures/*.tmp
