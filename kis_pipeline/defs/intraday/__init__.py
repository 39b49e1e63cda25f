"""Intraday history kept night by night: one-minute bars of a watchlist."""
