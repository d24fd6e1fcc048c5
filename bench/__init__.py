"""Crier's benchmarks: each a runnable module (``python -m bench.fanout``) that prints its
figures beside a baseline measured in the same run. See ``bench/README.md``."""
