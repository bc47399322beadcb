"""`python -m bot` is the `k8s-bot` console script."""

from bot.cli import main

raise SystemExit(main())
