"""The Processing provider: every Satellite Tasking workflow as an algorithm (Toolbox, models, batch, qgis_process)."""
