"""`python -m hotelbot` runs the CLI."""

from hotelbot.cli import main

main()
