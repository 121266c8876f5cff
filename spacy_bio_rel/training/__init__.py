"""Training: gold labels, losses, corpus readers, batchers, the optimiser and unit vectors."""
