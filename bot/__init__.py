"""Crier's core: incidents, drafting, approval, publishing. It imports no chat platform."""
