"""Policies behind one interface (reset / select_action), their loaders and the policy node."""
