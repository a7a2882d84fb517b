"""Drift history: each checked batch recorded, kept on a branch, drawn as one page. Entry point `main`."""

from .command import main

__all__ = ["main"]
