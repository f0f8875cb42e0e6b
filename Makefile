# The two commands a newcomer types: `make run` and `make test`. Both build .venv first.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

# The Nu HTML Checker for the browser tests: the jar from the npm package (run with the machine's Java).
VNU_VERSION := 26.9.27
VNU_JAR := .tools/vnu/node_modules/vnu-jar/build/dist/vnu.jar

.PHONY: run test test-replica test-browser vnu faults setup lint format migrations-check messages bench clean

# Python: the version in .python-version through pyenv when present, else python3.13/3.12 on PATH.
$(PY):
	@set -e; \
	want=$$(cat .python-version); \
	python=""; \
	if command -v pyenv >/dev/null 2>&1 && pyenv which python >/dev/null 2>&1; then python=$$(pyenv which python); fi; \
	for candidate in "$$python" python$$want python3.13 python3.12 python3; do \
	  [ -n "$$candidate" ] || continue; \
	  if command -v "$$candidate" >/dev/null 2>&1 && "$$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then \
	    python=$$(command -v "$$candidate"); break; \
	  fi; python=""; \
	done; \
	if [ -z "$$python" ]; then \
	  echo "error: no Python 3.12+ found. Install Python $$want (e.g. 'pyenv install $$want') and run make again." >&2; exit 1; \
	fi; \
	echo "creating $(VENV) with $$python ($$($$python --version))"; \
	"$$python" -m venv $(VENV)

# Development and tests: what production runs (requirements.txt) and the tooling (requirements-dev.txt).
$(VENV)/.installed: requirements.txt requirements-dev.txt | $(PY)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

setup: $(VENV)/.installed
	$(PY) manage.py migrate --no-input
	$(PY) manage.py load_seed
	$(PY) manage.py collectstatic --no-input --verbosity 0

# The site and the task worker (mail and other side effects) together; Ctrl-C stops both. Links in
# mail point at the address served here.
run: setup
	@export DJANGO_SITE_URL=$${DJANGO_SITE_URL:-http://$(HOST):$(PORT)}; \
	$(PY) manage.py db_worker --queue-name '*' --verbosity 0 & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT INT TERM; \
	$(PY) manage.py runserver $(HOST):$(PORT)

test: setup
	$(PY) -m pytest

# Reader pages read from a PostgreSQL streaming replica (articles/tests/test_replica.py), against the
# DATABASE_URL server and the replica scripts/pg-replica makes of it (as root) on port 5433.
REPLICA_URL ?= $(subst :5432/,:5433/,$(DATABASE_URL))
test-replica: setup
	DATABASE_REPLICA_URL=$(REPLICA_URL) $(PY) -m pytest articles/tests/test_replica.py

# Browser journeys, accessibility (axe-core), validity (vnu) and stored XSS, in Debian's Chromium
# (apt-get install -y chromium fonts-noto-cjk); on PostgreSQL too with DATABASE_URL. Screenshots of
# a failing test are kept in test-output/.
test-browser: $(VENV)/.installed $(VNU_JAR)
	@command -v chromium >/dev/null 2>&1 || { echo "error: Chromium is not installed: apt-get install -y chromium fonts-noto-cjk" >&2; exit 1; }
	$(PY) -m pytest browser_tests

vnu: $(VNU_JAR)

$(VNU_JAR):
	npm install --prefix .tools/vnu --no-audit --no-fund --ignore-scripts --silent vnu-jar@$(VNU_VERSION)
	@test -f $@

# Load and faults against gunicorn (needs wrk); FAULTS_DATABASE_URL=postgres://… for PostgreSQL.
faults: $(VENV)/.installed
	$(PY) bench/faults.py $(if $(FAULTS_DATABASE_URL),--database-url $(FAULTS_DATABASE_URL))

# The hooks of .pre-commit-config.yaml (django-upgrade, ruff check, ruff format) on every file.
lint: $(VENV)/.installed
	$(VENV)/bin/pre-commit run --all-files --show-diff-on-failure

format: $(VENV)/.installed
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# The Chinese catalogue (locale/zh_Hans/LC_MESSAGES/django.po) is the source of the translations:
# this adds new interface strings to it and compiles it; translate the new entries in the .po (the
# suite fails while one is untranslated or fuzzy) and run it again. Needs GNU gettext.
messages: $(VENV)/.installed
	$(PY) manage.py makemessages -l zh_Hans --no-obsolete --add-location file
	$(PY) manage.py compilemessages -l zh_Hans --ignore '.*'

migrations-check: $(VENV)/.installed
	$(PY) manage.py makemigrations --check --dry-run

# The site under load at a million snapshots (bench/http_bench.py; builds the data the first time).
# SQLite by default; PostgreSQL with BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/newsarchive_bench.
bench: $(VENV)/.installed
	$(PY) bench/http_bench.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache .tools test-output
