"""kioskctl subcommands by area; each module exposes ``add_parsers(top, sub)`` and ``COMMANDS``."""
