"""Planned maintenance: a window announced ahead, reminded, started and completed by a series of
posts that one approval covers, each published at its time through the outbox."""
