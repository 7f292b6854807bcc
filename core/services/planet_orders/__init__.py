"""Planet Orders API v2 (archive scenes and basemaps): client, models and request forms."""
