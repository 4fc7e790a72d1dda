"""Randomized mechanisms and their exact privacy curves (no torch at import; see noise_layers)."""
