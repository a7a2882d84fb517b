"""A gated, versioned machine-learning training loop."""
