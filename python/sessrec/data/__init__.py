"""Data files shipped with sessrec (see ATTRIBUTION.md)."""
