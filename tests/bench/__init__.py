"""Benchmarks run by `make bench` (`python -m tests.bench`): figures, never assertions."""
