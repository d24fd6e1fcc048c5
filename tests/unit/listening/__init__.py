"""Tests of listening: what the public answers, its mood, its topics and its spikes."""
