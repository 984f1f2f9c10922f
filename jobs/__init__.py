"""Scheduled jobs (APScheduler process); each job calls services."""
