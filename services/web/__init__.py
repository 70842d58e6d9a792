"""Web: server-rendered leaderboard pages, each also as `.json` and `.csv`."""
