"""Tokens, password hashing, secret encryption and outbound URL checks."""
