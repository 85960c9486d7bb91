"""Our Slack adapter: Block Kit builders, Bolt listeners, the Web API client and the sandbox.

This package deliberately shares its name with slack_sdk's deprecated `slack` package; see
app/_imports.py for how ours is the one every entry point imports.
"""

PROJECT_SLACK_PACKAGE = True
