"""Tests of the emulated Planet Tasking API v2, over HTTP and of its orbit model."""
