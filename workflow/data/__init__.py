"""Data files shipped with the engine: the published notice the demo is built from."""
