# bedflow: two commands do everything on a fresh Debian 12 machine.
#   make demo   install what is missing, then run the main job end to end on the embedded defaults
#   make test   install what is missing, then run the whole test suite
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: setup demo test bench lab lock clean

setup:
	bash scripts/setup.sh

demo: setup
	$(BIN)/bedflow demo

test: setup
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: setup
	for script in benchmarks/*.py; do $(BIN)/python $$script || exit 1; done

# Re-resolve requirements/*.txt from pyproject.toml (after changing a pin); commit the result.
lock: setup
	VENV=$(VENV) bash scripts/lock.sh

lab: setup
	$(BIN)/jupyter lab --notebook-dir=notebooks

clean:
	rm -rf $(VENV) data .pytest_cache .hypothesis
