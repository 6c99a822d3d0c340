"""Training and evaluation loops, and the statistics that go with their results."""
