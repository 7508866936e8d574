# `make run` and `make test` do all the set-up themselves on a fresh machine:
# a virtual environment in .venv, the package and its dev tools, and migrations.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install run sandbox test test-fast lint format migrate lock mutate screenshots clean mlflow-venv

$(STAMP): pyproject.toml requirements.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed; set PYTHON=python3.11")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# the locked runtime versions first, so tests run what production installs
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

## Run the bot locally: web + worker in one process, SQLite, migrations at start.
## Without SLACK_BOT_TOKEN/SLACK_SIGNING_SECRET it starts the sandbox instead (see README).
run: install
	$(BIN)/mlops-bot run

## Try the bot without Slack: the sandbox with a demo organisation, in the browser.
sandbox: install
	$(BIN)/mlops-bot sandbox --demo

## Run the whole test suite (SQLite; PostgreSQL too when TEST_DATABASE_URL is set).
test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## The fast tier: everything but the tests marked slow (processes, browser); about a minute.
test-fast: install
	$(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS)

## Mutation testing of the domain rules, the outbox and workspace scoping (not in CI; see
## docs/testing.md). MUTANTS='bot.outbox.x_claim*' limits it to matching mutants.
mutate: install
	rm -rf mutants
	$(BIN)/mutmut run --max-children $${MUTATE_CHILDREN:-2} $(MUTANTS)
	$(BIN)/python tools/mutation_score.py

## Retake the README's screenshots: the browser test that assesses, opens App Home and jumps to
## the digest saves them (Debian's Chromium, /usr/bin/chromium), then they are copied here.
SHOTS := artifacts/sandbox
screenshots: install
	rm -f $(SHOTS)/02-assessment-in-progress.png $(SHOTS)/03-level-card.png \
		$(SHOTS)/04-app-home.png $(SHOTS)/05-digest.png $(SHOTS)/06-digest-with-picture.png \
		$(SHOTS)/07-app-home-with-picture.png $(SHOTS)/maturity-heatmap.png \
		$(SHOTS)/maturity-trend.png
	$(BIN)/python -m pytest -q \
		'tests/sandbox/test_browser.py::test_assess_to_level_one_then_app_home_then_the_digest[http]' \
		tests/sandbox/test_browser.py::test_the_digest_carries_its_picture_and_app_home_shows_it
	cp $(SHOTS)/02-assessment-in-progress.png docs/screenshots/assessment.png
	cp $(SHOTS)/03-level-card.png docs/screenshots/level-card.png
	cp $(SHOTS)/04-app-home.png docs/screenshots/app-home.png
	cp $(SHOTS)/05-digest.png docs/screenshots/digest.png
	cp $(SHOTS)/06-digest-with-picture.png docs/screenshots/digest-picture.png
	cp $(SHOTS)/07-app-home-with-picture.png docs/screenshots/app-home-picture.png
	cp $(SHOTS)/maturity-heatmap.png docs/screenshots/heatmap.png
	cp $(SHOTS)/maturity-trend.png docs/screenshots/trend.png

## The real MLflow tracking server the evidence tests start (tests/evidence/mlflow_server.py):
## its own environment, because mlflow pins gunicorn<27 and the bot locks gunicorn 27. The
## tests make it on first use; this makes it ahead of time.
mlflow-venv: install
	$(BIN)/python -c 'from tests.evidence.mlflow_server import ensure_venv; print(ensure_venv())'

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

migrate: install
	$(BIN)/mlops-bot migrate

## Renew requirements.txt, the hashed lock of the runtime dependencies, from pyproject.toml
## (uv resolves for every platform; the image and Procfile platforms install from it).
lock: install
	$(BIN)/python -m pip install --quiet 'uv>=0.5,<1'
	$(BIN)/uv pip compile pyproject.toml --quiet --universal --python-version 3.11 \
		--generate-hashes --custom-compile-command 'make lock' -o requirements.txt

clean:
	rm -rf $(VENV) .venv-mlflow .pytest_cache .ruff_cache *.egg-info
