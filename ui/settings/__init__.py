"""The settings dialog: service, API key (kept in QGIS's auth database), base URL, contract, product, sandbox switch."""
