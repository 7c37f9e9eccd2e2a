"""Measuring the assistant: corpus loaders, crisis and NLU evaluators, and ``docs/evaluation.md``.

Kept out of ``bot/`` and ``actions/`` on purpose: the runtime images contain neither this
package nor the test corpora it reads.
"""
