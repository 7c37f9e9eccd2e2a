"""Dialogue policies of the assistant beyond Rasa's own (see ``config.yml``)."""
