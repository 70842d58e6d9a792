"""Code shared by every leaderboard service: events, documents, settings, bus and store."""
