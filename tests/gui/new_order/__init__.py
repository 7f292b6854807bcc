"""GUI tests of the New order tab."""
