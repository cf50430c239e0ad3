"""Shared plumbing every service imports: settings, topology, dead letters, app factory, client."""
