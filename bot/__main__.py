"""`python -m bot` is the `kaohe` CLI."""

from bot.cli import main

main()
