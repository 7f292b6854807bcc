"""The New order tab: an AOI from the map, order options, a live quote, imaging windows, placing the order."""
