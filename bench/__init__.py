"""Speed benchmarks (``make bench``): latency, throughput, memory, cold start, training time.

Not a test: it measures and writes ``docs/benchmarks.md``; pass/fail lives in ``tests/``,
and how well the assistant answers is ``evaluation/``. Intermediate output goes to
``results/`` (git-ignored).
"""
