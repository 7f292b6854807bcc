"""UP42's tasking API (v2, as up42-py 4.3 speaks it): login, glossary, product schemas, orders, quotations."""
