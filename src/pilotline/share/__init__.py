"""Share: Asset Administration Shells for partners, per-partner grants and a record of every read."""
