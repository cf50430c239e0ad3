# Shortcuts for the commands of the README (each one is the command it runs).
.PHONY: lint test-unit test demo bench

lint:
	bash deploy/local/lint.sh

test-unit:
	.venv/bin/python -m pytest -q -n auto tests/unit

test:
	bash deploy/local/test.sh

demo:
	bash deploy/local/demo.sh

bench:
	.venv/bin/python -m bench
