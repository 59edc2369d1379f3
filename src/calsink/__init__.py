"""calsink."""
