"""The account's escalation policy: how often an unclaimed escalation notifies again."""
