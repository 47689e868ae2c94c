"""HTTP routes, one module per area of the API (plus the server-rendered pages)."""
