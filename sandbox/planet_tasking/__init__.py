"""The emulated Planet Tasking API v2: its routes, rules, orbit model and demo data."""
