"""Benchmarks with budgets. Run with `make bench`; results go to docs/performance.md."""
