"""Where conversations are kept: the tracker store, the lock store, retention and privacy.

Everything is chosen from the environment (``DATA_DIR``, ``DB_URL``, ``REDIS_URL``,
``PRIVACY_MODE``) so one ``endpoints.yml`` serves a laptop, the tests and a deployment.
"""
