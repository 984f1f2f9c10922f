"""Use cases: one function per action, each owning its transaction; no Flask here."""
