"""The Orders tab: the orders list, its filters, the selected order's details, and the map selection."""
