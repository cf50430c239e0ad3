#!/usr/bin/env bash
# The lint step of the test command (test.sh runs it first; `make lint` alone): ruff's rules,
# the formatter, and mypy, strict on all the code: the contracts, the shared plumbing, the
# customer, order-sync, notification and adapters services, the gateway, omsctl and tools/
# (pyproject.toml [tool.ruff], [tool.mypy]). Fails the run on the first finding.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ensure_venv
cd "$ROOT"
say "lint: ruff check"
"$PY" -m ruff check --quiet . || die "ruff found the problems above (many fix with: .venv/bin/ruff check --fix .)"
say "lint: ruff format --check"
"$PY" -m ruff format --check --quiet . || die "not formatted as pyproject.toml says (fix with: .venv/bin/ruff format .)"
say "lint: mypy (strict: contracts, plumbing, customer, order-sync, notification, adapters, gateway, omsctl, tools)"
"$PY" -m mypy || die "mypy found the problems above"
