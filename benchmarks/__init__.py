"""confsched benchmarks: each figure is a ratio against a baseline measured in the same run.

Run ``python -m benchmarks`` (all) or ``python -m benchmarks step curve`` (some). Not part of the
test suite.
"""
