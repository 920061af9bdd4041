"""``tailsse follow``'s client: an event stream in a terminal (HTTP, then the reconnecting loop)."""
