"""Incidents: declaring, updating and resolving them, approval and who may, and their forms."""
