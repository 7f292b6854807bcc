"""Tests of Satellite Tasking."""
