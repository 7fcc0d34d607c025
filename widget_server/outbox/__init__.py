"""Reliable delivery of what leaves the service: e-mail over SMTP and signed webhooks."""
