"""Custom tasks: a user's data plus an mteb task type, evaluated by mteb like a registry task."""
