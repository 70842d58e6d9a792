"""Submission service: validates and pins submissions, stores them, publishes their jobs."""
