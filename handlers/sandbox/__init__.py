"""A simulated Slack workspace, for the test suite and the `crier sandbox` playground."""
