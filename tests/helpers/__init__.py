"""Helpers that several test modules share (never test modules themselves)."""
