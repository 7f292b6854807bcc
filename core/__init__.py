"""Core of Satellite Tasking: everything that is not a widget (API clients, AOI, models, layers, tasks)."""
