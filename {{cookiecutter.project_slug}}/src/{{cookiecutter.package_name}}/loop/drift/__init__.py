"""Drift: compare current data and the model's behaviour on it with the reference. Entry point `main`."""

from .command import DRIFT_EXIT_CODE, ERROR_EXIT_CODE, main

__all__ = ["DRIFT_EXIT_CODE", "ERROR_EXIT_CODE", "main"]
