"""The mini-program's HTTP API (Flask): the app factory, thin blueprints per domain, the error
envelope and the operations endpoints. ``create_app`` is the only entry point."""

from miniprogram_api.app import create_app

__all__ = ["create_app"]
