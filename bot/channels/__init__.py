"""Input channels of the assistant.

Rasa imports a channel module in every server process it starts, before any message is
handled, so the Rasa patches are installed here too (``install()`` is idempotent): a
worker process that Rasa starts afresh runs patched even if it did not come through
``bot.patched_rasa``.
"""

from bot import rasa_patches

rasa_patches.install()
