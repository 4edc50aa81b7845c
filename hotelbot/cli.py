"""Placeholder; replaced by the CLI package."""


def main() -> None:
    raise SystemExit("hotelbot CLI not built yet")
