"""Guide Nest bot: helps people fix their email client setup, on Discord and on the command line."""

__version__ = "0.1.0"
