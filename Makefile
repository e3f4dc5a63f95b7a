# Matterflow — the two commands a newcomer needs are `make run` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
FLASK := $(VENV)/bin/flask --app webapp
STAMP := $(VENV)/.installed
VENDOR := static/vendor/htmx.min.js static/vendor/Sortable.min.js static/vendor/axe.min.js

.PHONY: run test setup vendor secrets db bench lint format browser-deps clean

setup: $(STAMP) $(VENDOR)

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e '.[dev]'
	touch $(STAMP)

$(VENDOR): package.json
	npm install --no-audit --no-fund --silent
	mkdir -p static/vendor
	cp node_modules/htmx.org/dist/htmx.min.js static/vendor/htmx.min.js
	cp node_modules/sortablejs/Sortable.min.js static/vendor/Sortable.min.js
	cp node_modules/axe-core/axe.min.js static/vendor/axe.min.js

# First start: random SECRET_KEY, WEBHOOK_SECRET and a Fernet key for the firms' secrets
# (MATTERFLOW_SECRET_KEYS) in instance/secrets.json (read back on
# later starts; environment variables of the same names win). Never the public defaults.
secrets: setup
	@$(PY) -c 'from webapp.config import SECRETS_FILE, write_instance_secrets; \
	written = write_instance_secrets(); \
	written and print("Wrote a random", " and ".join(written), "to", SECRETS_FILE)'

db: setup secrets
	$(FLASK) db upgrade
	$(FLASK) seed-demo --if-empty

# Without SMTP_HOST, a local SMTP sink prints outgoing mail in this terminal, so
# notifications work on a laptop without a mail server.
run: db
	@sink=; if [ -z "$$SMTP_HOST" ]; then \
	  $(PY) -m aiosmtpd -n -l 127.0.0.1:$${SMTP_PORT:-1025} -c aiosmtpd.handlers.Debugging stdout & sink=$$!; \
	  echo "Outgoing mail is printed here (local SMTP sink on 127.0.0.1:$${SMTP_PORT:-1025})."; \
	fi; \
	trap '[ -n "$$sink" ] && kill $$sink 2>/dev/null' EXIT INT TERM; \
	$(FLASK) run --host 127.0.0.1 --port 5000

# Debian's Chromium drives the browser tests; Playwright never downloads a browser here.
browser-deps:
	@test -x /usr/bin/chromium || (apt-get update -qq && apt-get install -y -qq chromium)

# mypy reads its settings from pyproject.toml: strict on webapp/engine, checked elsewhere.
lint: setup
	$(VENV)/bin/ruff check webapp tests bench
	$(VENV)/bin/ruff format --check webapp tests bench
	$(VENV)/bin/mypy

format: setup
	$(VENV)/bin/ruff format webapp tests bench
	$(VENV)/bin/ruff check --fix webapp tests bench

test: setup browser-deps lint
	$(PY) -m tests.run_suite

# Figures against the targets of issue 4 (docs/benchmark.md); e.g. BENCH_ARGS="--only b".
bench: setup
	$(PY) -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) node_modules static/vendor instance
