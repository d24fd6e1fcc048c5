"""The database: tables, engine and sessions, schema migrations and the audit log."""
