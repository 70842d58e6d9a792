"""Tables out: benchmark and task leaderboards, their snapshots, and their announcements."""
