"""Test fixtures built on the fly (spreadsheets are generated, not committed as binaries)."""
