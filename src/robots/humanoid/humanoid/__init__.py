"""The 17-servo humanoid: model, config and walking task."""
