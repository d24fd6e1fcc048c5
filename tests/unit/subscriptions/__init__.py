"""Tests of the emails to status site subscribers and of their sending."""
