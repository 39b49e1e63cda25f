"""News: the headlines KIS lists, kept hour by hour, since KIS shows only the newest."""
