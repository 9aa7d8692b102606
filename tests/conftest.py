"""Fixtures every test folder may use: the PostgreSQL server (tests/pg.py) and Redis (tests/redis_server.py)."""

pytest_plugins = ["tests.pg", "tests.redis_server"]
