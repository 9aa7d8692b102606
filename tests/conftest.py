"""Fixtures every test folder may use: the PostgreSQL server (tests/pg.py)."""

pytest_plugins = ["tests.pg"]
