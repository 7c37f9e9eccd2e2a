"""Benchmarks (``make bench``) and the evaluation report (``make evaluate``).

Neither is a test: they measure and write reports under ``docs/``; pass/fail lives in
``tests/``. Intermediate output goes to ``results/`` (git-ignored).
"""
