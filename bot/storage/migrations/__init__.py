"""Alembic migrations of Crier's database."""
