"""Merging two customers and undoing it (C13)."""
