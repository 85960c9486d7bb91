"""`python -m app` runs the expense-bot command line."""

from app.cli import main

raise SystemExit(main())
