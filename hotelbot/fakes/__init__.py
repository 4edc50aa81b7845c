"""Fake servers speaking real protocols, for the demo, tests and benchmarks."""
