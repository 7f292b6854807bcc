"""Local emulator of satellite tasking APIs (standard library only), one server for all: `python3 -m sandbox`."""
