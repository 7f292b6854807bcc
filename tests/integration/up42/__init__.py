"""Integration tests of the UP42 client against the sandbox."""
