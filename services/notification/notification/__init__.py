"""Notification service: renders templates, sends email over SMTP, records activities (N1-N6)."""
