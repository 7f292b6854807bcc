"""Widget and GUI tests of the Order imagery dialog."""
