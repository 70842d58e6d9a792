"""Results in: live results and imported files become stored results; export; model documents."""
