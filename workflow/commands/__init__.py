"""More ``rectify`` commands: each module here exposes ``COMMANDS``, a list of click commands."""
