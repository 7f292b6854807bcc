"""UP42 tasking: any data product, its order form generated from the product\x27s JSON Schema."""
