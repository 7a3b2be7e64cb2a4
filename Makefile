# ascend.serving developer entry points. Every target does its own setup (scripts/setup.sh is
# idempotent and takes seconds once done).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
ROOT := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
ENV := source $(ROOT)/scripts/env.sh &&
# ansible-test needs the collection at a real ansible_collections/ascend/serving path, outside any
# git checkout (inside one it lists only the files git tracks there, i.e. none).
AT_ROOT := $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/ascend-serving/$(shell echo $(ROOT) | sha256sum | cut -c1-8)/ansible_collections/ascend/serving
PY ?= 3.11
S ?= smoke
SCENARIOS ?= $(shell ls -d $(ROOT)/molecule/*/ 2>/dev/null | xargs -n1 basename | grep -v '^_' )

.PHONY: help setup demo demo-down test lint yamllint ansible-lint ruff shellcheck role-docs sanity units pytest molecule \
        scenario build install-check changelog clean image bench

help:
	@echo "make demo        run the main job on the bundled simulated cluster"
	@echo "make test        run every test (lint, sanity, units, pytest, every molecule scenario)"
	@echo "make lint        yamllint, ansible-lint, ruff, shellcheck (the git hooks too: docs/testing.md)"
	@echo "make scenario S=NAME   run one molecule scenario"
	@echo "make build       build the collection tarball"
	@echo "make bench       measure the playbooks on simulated clusters (bench/report.{json,md}; not a test)"

setup:
	@$(ROOT)/scripts/setup.sh

demo: setup
	@$(ENV) $(ROOT)/scripts/demo.sh up

demo-down: setup
	@$(ENV) $(ROOT)/scripts/demo.sh down

test: setup
	@$(ENV) $(ROOT)/scripts/run-tests.sh $(SCENARIOS)

# The linters of `make test` (scripts/run-tests.sh) and of the git hooks (.pre-commit-config.yaml).
lint: yamllint ansible-lint ruff shellcheck

yamllint: setup
	@$(ENV) cd $(ROOT) && yamllint -s .

ansible-lint: setup
	@$(ENV) cd $(ROOT) && ansible-lint

ruff: setup
	@$(ENV) cd $(ROOT) && ruff check

shellcheck: setup
	@$(ENV) $(ROOT)/scripts/shellcheck.sh

# Role READMEs in sync with meta/argument_specs.yml (a `make test` stage and a git hook, not in lint).
role-docs: setup
	@$(ENV) cd $(ROOT) && python3 scripts/role_docs.py --check

$(AT_ROOT): FORCE
	@mkdir -p $(AT_ROOT)
	@rsync -a --delete --exclude=/.venv --exclude=/.work --exclude=/.git --exclude=/reports \
	  --exclude=__pycache__ --exclude=/tests/output $(ROOT)/ $(AT_ROOT)/
FORCE:

sanity: setup $(AT_ROOT)
	@$(ENV) cd $(AT_ROOT) && ansible-test sanity --venv --python $(PY) $(SANITY_ARGS)

units: setup $(AT_ROOT)
	@$(ENV) cd $(AT_ROOT) && ansible-test units --venv --python $(PY) $(UNITS_ARGS)

pytest: setup
	@$(ENV) cd $(ROOT) && pytest -p no:cacheprovider tests/sim $(PYTEST_ARGS)

molecule: setup
	@$(ENV) $(ROOT)/scripts/run-tests.sh --only-molecule $(SCENARIOS)

scenario: setup
	@$(ENV) $(ROOT)/scripts/run-tests.sh --only-molecule $(S)

# Measurements, not tests (not part of `make test`): bench/run.py, see bench/README.md.
bench: setup
	@$(ENV) cd $(ROOT) && python3 bench/run.py $(BENCH_ARGS)

image: setup
	@$(ENV) $(ROOT)/tests/sim/image/build.sh

build: setup
	@$(ENV) cd $(ROOT) && ansible-galaxy collection build --force --output-path $(ROOT)/.work/dist

install-check: build
	@$(ENV) $(ROOT)/scripts/install-check.sh

changelog: setup
	@$(ENV) cd $(ROOT) && antsibull-changelog lint

clean:
	rm -rf $(dir $(patsubst %/,%,$(dir $(patsubst %/,%,$(dir $(AT_ROOT)))))) $(ROOT)/.work/dist $(ROOT)/tests/output
