# labelwatch — the commands the README promises.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export PATH := $(abspath $(BIN)):$(PATH)
# The suite starts many Python processes (pytest's workers, the CLI, local up, Lambda environments):
# without the bytecode cache each one compiles the project's modules again and pytest rewrites every
# test module's asserts again (~4 s per worker). Caches go to the gitignored __pycache__ folders.
unexport PYTHONDONTWRITEBYTECODE

.PHONY: setup constraints test unit demo bench bench-autopilot soak synth lint asl deploy clean

## setup: Python virtualenv with the project and its dev tools, and the pinned CDK CLI
setup: $(VENV)/.installed node_modules/.installed

# constraints.txt pins every package (and pip) to the versions the suite passed with, so a fresh
# install cannot drift to a newer release that behaves differently (typer 0.29 vendoring click did).
$(VENV)/.installed: pyproject.toml constraints.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip -c constraints.txt
	PYTHONWARNINGS="ignore:Editable installation" $(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[dev]"
	touch $@

## constraints: re-pin constraints.txt to what the venv has (after changing pyproject.toml)
constraints:
	{ sed -n '1,2p' constraints.txt; $(PY) -m pip freeze --exclude-editable --all | grep -v -e '^labelwatch' -e '^setuptools=='; } > constraints.new
	mv constraints.new constraints.txt

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --silent
	touch $@

## test: the whole suite on 2 cores (unit, template, cdk-nag, cfn-lint, executed workflow)
# Three workers on two cores: the twin's tests wait on compressed time (a model's start, the
# autopilot's minutes) and on child processes, and a third worker fills those waits (5-20 s less).
test: setup
	$(PY) -m pytest -n 3 --dist loadgroup

## unit: the fast unit tests (no synth, no workflow, no model training), in under 30 s
unit: setup
	$(PY) -m pytest -n 2 tests/unit -m "not training"

## demo: the whole system on this machine (generated photos, local model, embedded AWS)
demo: setup
	$(BIN)/labelwatch demo

## bench: images/s end to end at several batch sizes, the detector alone, time per state
bench: setup
	$(PY) -m labelwatch.bench

## bench-autopilot: a day with two bursts of 200 photos, the model autopilot on, time compressed (a report)
bench-autopilot: setup
	$(PY) -m labelwatch.bench_autopilot

## soak: 1,000 uploads of every input kind under injected faults, then the invariants (prints a report)
soak: setup
	$(PY) -m labelwatch.soak --images 1000

## synth: write the deployable template (with the bundled Lambda) to cdk.out/
synth: setup
	npx aws-cdk synth --quiet
	@echo "template: cdk.out/Labelwatch.template.json"

## lint: ruff and cfn-lint on the synthesized template
lint: synth
	$(BIN)/ruff check .
	@# W3005: CDK adds a DependsOn next to a GetAtt (redundant, harmless); everything else fails.
	$(BIN)/cfn-lint --ignore-checks W3005 -- cdk.out/Labelwatch.template.json

## asl: regenerate statemachine/workflow.asl.json from the synthesized stack
asl: setup
	$(PY) -m statemachine.export

## deploy: deploy to the AWS account of your current credentials (see README for parameters)
deploy: setup
	npx aws-cdk deploy

clean:
	rm -rf cdk.out .cache .pytest_cache .labelwatch
