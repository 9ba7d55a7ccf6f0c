"""The ``bedflow`` command line: a thin front end over :mod:`pipeline`."""

from .main import app, main

__all__ = ["app", "main"]
