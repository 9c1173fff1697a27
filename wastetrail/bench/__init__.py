"""Benchmarks (`make bench`): medians over repeated runs, each beside a baseline measured in the
same run, written to var/bench/<name>.json as {"name", "value", "unit", "baseline", "ratio"}."""
