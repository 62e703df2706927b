"""kioskctl subcommands by area; each module exposes ``add_parsers(top, sub)`` and ``COMMANDS`` (or
``base.STANDALONE`` for commands that open what they need themselves)."""
