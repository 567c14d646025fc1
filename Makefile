# The studio's everyday commands (each is also written out in README.md).
.PHONY: run check test test-fast bench

run:            ## the studio and its worker on http://127.0.0.1:7860
	python app.py

check:          ## lint, format and types
	ruff check .
	ruff format --check .
	mypy

test:           ## the whole suite, as CI runs it
	python -m pytest -n 3 --dist loadgroup

test-fast:      ## the quick part (no worker processes, browsers or model runs)
	python -m pytest -m "not slow"

bench:          ## every benchmark, each printing its table
	for b in benchmarks/*.py; do python $$b || exit 1; done
