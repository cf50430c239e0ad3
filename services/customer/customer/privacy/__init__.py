"""Export and erasure of a customer's data in every service (C18)."""
