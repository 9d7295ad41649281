"""Local servers speaking the real wire formats of services tests cannot reach (SMTP, Slack, Teams...)."""
