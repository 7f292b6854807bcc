"""Bulk engine tests against the sandbox over HTTP."""
