"""Drafting: an incident's facts become each network's text, within that network's rules."""
