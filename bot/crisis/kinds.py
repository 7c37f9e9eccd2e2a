"""The kinds of crisis the assistant tells apart; each has its own crisis reply and resources.

Kept apart from the rule loader, which imports spaCy (and so TensorFlow): the metrics
labels (bot/metrics.py) need the kinds in processes that never load a language model,
such as the action server.
"""

KINDS = ("self", "other_person", "sexual_assault", "domestic_violence", "child_abuse")
