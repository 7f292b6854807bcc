"""Widgets of Satellite Tasking: the dock, dialogs and map tools."""
