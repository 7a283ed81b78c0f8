"""Short, durable image links (issue 12, in progress: docs/links.md)."""
