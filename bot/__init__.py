"""Rasa-side code of the therapy-questions assistant: NLU components and channels."""
