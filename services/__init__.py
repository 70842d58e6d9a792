"""The leaderboard's services: submission, evaluator, aggregator, web, and the CLI."""
