"""The auditors' read-only web page at /audit/: server-rendered, no scripts, works offline."""
