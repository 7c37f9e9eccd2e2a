"""Measuring the assistant: crisis and NLU evaluators and the reports they write.

Kept out of ``bot/`` and ``actions/`` on purpose: the runtime images contain neither this
package nor the test corpora it reads.
"""
