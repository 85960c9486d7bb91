"""HTTP adapter: routers, dependencies and error mapping."""
