# Two commands for people: `make run` and `make test`. Both set everything up
# on a fresh clone (virtual environment, requirements, database, browser).
.DEFAULT_GOAL := help
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: help run test lint format browser services messages clean

help:
	@echo "make run    set up and start the site on http://$(HOST):$(PORT)/"
	@echo "make test   set up and run the whole test suite (what CI runs)"
	@echo "make lint   ruff check and ruff format --check"
	@echo "make messages  update and compile the Russian translation (locale/ru)"

$(PY):
	@python=$$(scripts/find-python) && "$$python" -m venv $(VENV)
	@$(PY) -m pip install --quiet --upgrade pip

# Stamps: reinstall only when a requirements file changes.
$(VENV)/.runtime: requirements.txt | $(PY)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(PY)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@ $(VENV)/.runtime

.env:
	@cp env.sample .env
	@echo "Created .env from env.sample (DEBUG on, mail saved to sent_emails/). Edit .env to change it."

run: $(VENV)/.runtime .env
	$(PY) manage.py migrate --noinput
	@# The address, the mailer, and warnings (SITE_URL on another port...), in LANGUAGE_CODE: core/banner.py.
	@$(PY) manage.py shell -v0 -c "from core.banner import show; show('$(HOST)', '$(PORT)')"
	@# The task worker sends every message of the site; it runs beside the server and stops with it.
	$(PY) manage.py db_worker --no-reload & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker' EXIT INT TERM; \
	$(PY) manage.py runserver $(HOST):$(PORT)

browser:
	@scripts/ensure-chromium

# PostgreSQL and Redis for the tests that run the site on them (testsupport/services.py).
services:
	@scripts/ensure-services

test: $(VENV)/.dev browser services
	$(PY) -m pytest

# After changing a translatable text: update locale/ru/LC_MESSAGES/django.po,
# translate what is new (msgstr) or fuzzy, then run it again to compile django.mo.
# Both files are committed; tests/test_translations.py fails when they lag.
MAKEMESSAGES := $(PY) manage.py makemessages --settings tests.settings --locale ru --extension html,txt,py \
	--add-location file --no-wrap --ignore .venv --ignore bench --ignore tests --ignore testsupport --ignore deploy
messages: $(VENV)/.dev services
	$(MAKEMESSAGES)
	$(PY) manage.py compilemessages --settings tests.settings --locale ru --ignore .venv

lint: $(VENV)/.dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(VENV)/.dev
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .artifacts
