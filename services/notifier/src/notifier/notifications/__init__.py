"""The caller's bell notifications: list, unread count, mark read."""
