"""Order-sync service: takes upstream orders and ties each to the right customer (O1-O8)."""
