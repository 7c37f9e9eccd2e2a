"""Fitting the models the assistant serves, from the project's own data (never eval-real)."""
