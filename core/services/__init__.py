"""Service adapters behind one small interface (`base`), and the registry that names them (`registry`)."""
