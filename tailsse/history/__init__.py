"""A log's past: its lines before and after a position, search, and finding a time."""
