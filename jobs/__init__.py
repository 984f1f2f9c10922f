"""Scheduled jobs (the APScheduler process); each job calls one domain use case."""
