"""The "Order imagery" dialog: archive imagery of captures, item ids or basemaps, clipped, delivered and loaded."""
