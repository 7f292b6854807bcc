"""The emulated Planet Tasking API v2 (served under /tasking/v2/): its routes, rules, orbit model and demo data."""

VERSION = "2.1.0-sandbox"  # answered by GET /tasking/v2/version.txt
