"""Slack interactive pickup: a Pick up click in the channel message claims the escalation in place."""
