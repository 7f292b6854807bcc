"""sandbox tests."""
