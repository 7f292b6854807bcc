"""UP42 widgets: the New order tab whose order form comes from the chosen product's JSON Schema."""
