"""Durability: the data directory (write-ahead log, snapshots, recovery); see ``_datadir``."""
