"""Internals: no stability promise."""
