"""Evaluator workers: take jobs off the bus, run mteb, publish one result per task."""
