"""kioskctl subcommands grouped by area, each module hooked into ``kiosk/cli.py`` with a few lines."""
