"""Custom NLU components."""
