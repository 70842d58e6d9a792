"""Aggregator: turns status and result events into stored results, submissions and rankings."""
