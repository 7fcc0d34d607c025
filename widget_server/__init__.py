"""Vitrine: a self-hosted counter + multiwidget service."""

__version__ = "0.1.0"
