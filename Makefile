# Every target creates .venv itself, so a fresh clone needs nothing but python3.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
BASE := $(VENV)/.installed-base
TEST := $(VENV)/.installed-test
SERVER := $(VENV)/.installed-server

.PHONY: demo serve test lint bench fuzz clean venv

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# The demo needs the base install only (no torch).
$(BASE): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

# Tests also run the LLM watermark with torch: take the CPU wheel this machine kind keeps on
# disk (torch==2.13.0) before the extras, or an open range would pull a multi-GB CUDA build.
$(TEST): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet "torch==2.13.0"
	$(BIN)/pip install --quiet -e ".[test]"
	touch $@ $(BASE)

$(SERVER): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[server]"
	touch $@ $(BASE)

venv: $(TEST)

demo: $(BASE)
	bash scripts/demo.sh

# The HTTP API and the moderator page on http://127.0.0.1:8000/, over the demo's key store.
serve: $(SERVER)
	@test -d demo-out/home || bash scripts/demo.sh
	PROVENANCE_HOME=demo-out/home PROVENANCE_PASSPHRASE="demo passphrase, not for real keys" \
		$(BIN)/provenance serve

lint: $(TEST)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint
	$(BIN)/pytest

bench: $(TEST)
	$(BIN)/pip install --quiet -e ".[test,bench]"
	$(BIN)/python -m bench.startup
	$(BIN)/python -m bench.c2pa_sign_verify
	$(BIN)/python -m bench.av
	$(BIN)/python -m bench.timestamp
	$(BIN)/python -m bench.batch
	$(BIN)/python -m bench.sign_batch
	$(BIN)/python -m bench.watermark_image
	$(BIN)/python -m bench.localisation
	$(BIN)/python -m bench.watermark_negatives
	$(BIN)/python -m bench.recovery
	$(BIN)/python -m bench.text_c2pa
	$(BIN)/python -m bench.text_payload
	$(BIN)/python -m bench.llm_watermark
	$(BIN)/python -m bench.audio_watermark
	$(BIN)/python -m bench.server_load

# Property-based fuzzing of the verifier (fuzz/, outside `make test`): about 90 seconds.
# Reproduce or vary a run with FUZZ_SEED=n; FUZZ_EXAMPLES sets the examples per target.
FUZZ_SEED ?= 0
FUZZ_EXAMPLES ?= 10000
fuzz: $(TEST)
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/pytest -q fuzz --hypothesis-seed=$(FUZZ_SEED)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info
