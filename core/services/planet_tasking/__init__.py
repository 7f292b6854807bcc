"""Planet Tasking API v2: client, typed models, order rules, layer schemas and the adapter that registers them."""
