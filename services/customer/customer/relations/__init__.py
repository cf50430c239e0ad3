"""Organizations (C5) and groups (C19)."""
