"""Notifications: queued in the caller's transaction (outbox + inbox), delivered by the jobs."""
