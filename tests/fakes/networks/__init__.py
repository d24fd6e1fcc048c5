"""Fake social networks and status pages: real HTTP servers on 127.0.0.1, port 0."""
