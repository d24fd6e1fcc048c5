"""Deferred work: the job table, reminders, the content calendar and channel health checks."""
