"""The ``linli`` command (a delivery layer beside ``miniprogram_api`` and ``jobs``)."""

from cli.main import main

__all__ = ["main"]
