"""Widgets and helpers more than one feature of the dock uses."""
