"""The emulated Planet Orders API v2 (served under /compute/ops/): archive scene and basemap orders, tools, downloads."""
