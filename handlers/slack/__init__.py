"""Slack: bolt AsyncApp listeners, Block Kit builders and the thread presenter."""
