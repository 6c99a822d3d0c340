"""Upstream's ``textgrad.utils``: helpers for images given by URL."""
