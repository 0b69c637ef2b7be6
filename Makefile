# 考核助手: `make demo` runs the demo, `make test` runs every check. Both set up .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test lint typecheck pytest bench faults fonts clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# A CJK font so charts render Chinese (Debian's fonts-wqy-microhei); skipped where one exists.
fonts:
	@if fc-list :lang=zh 2>/dev/null | grep -q .; then :; \
	elif command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
		echo "installing a CJK font (fonts-wqy-microhei)"; \
		(apt-get install -y -qq fonts-wqy-microhei >/dev/null 2>&1 || \
		 (apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq fonts-wqy-microhei >/dev/null 2>&1)) \
		|| echo "warning: could not install a CJK font; charts fall back to text"; \
	else echo "warning: no CJK font and no way to install one; charts fall back to text"; fi

demo: install fonts
	$(BIN)/python -m demo

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy bot handlers dingtalk wecom scoring usecases templates tests bench fakes demo

# The PostgreSQL tests run against a throwaway server that .ci/postgres starts (or skip).
pytest: install fonts
	KAOHE_TEST_POSTGRES_URL="$$(bash .ci/postgres)" $(BIN)/pytest

test: lint typecheck pytest

bench: install
	KAOHE_TEST_POSTGRES_URL="$$(bash .ci/postgres)" $(BIN)/python -m bench

# The long fault suite: 1,000 findings while `kaohe run` is killed at random 5 times (make test
# runs a short one); prints {"faults": …, "confirmed": …, "recorded": …, "doubled": 0, "lost": 0}.
faults: install
	KAOHE_FAULTS=long $(BIN)/pytest -q -s tests/test_faults.py

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache .hypothesis
