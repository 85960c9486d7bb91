"""Bolt listeners: ack first, then call the core and answer the clicker."""
