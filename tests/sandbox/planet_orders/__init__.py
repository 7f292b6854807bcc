"""Tests of the emulated Planet Orders API v2."""
