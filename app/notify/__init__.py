"""Notifications: the outbox and inbox written in the caller's transaction, consent grants, payloads
within WeChat's limits, and delivery. Knows recipients and purposes, never orders."""
