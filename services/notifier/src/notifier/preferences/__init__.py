"""Notification preferences: when and how each person is reached (time zone, quiet hours, email, mentions)."""
