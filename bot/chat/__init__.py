"""What the core tells every chat platform, and where an incident lives in each chat."""
