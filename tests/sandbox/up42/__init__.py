"""Tests of the sandbox's UP42 tasking API, over HTTP."""
