"""Benchmarks that print numbers, each against a baseline measured side by side in the same run."""
