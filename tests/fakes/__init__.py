"""Test doubles for the services Crier talks to, each a real server on 127.0.0.1, port 0."""
