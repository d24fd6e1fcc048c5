"""Microsoft Teams: every Teams-specific line of Crier lives in this package."""
