"""Local emulator of the Planet Tasking API v2 (standard library only): `python3 -m sandbox`."""

VERSION = "2.1.0-sandbox"
