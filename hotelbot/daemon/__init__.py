"""The daemon: composition root, per-hotel pollers and background stages."""
