"""Use cases: each takes a Session, applies the rules, and returns plain data."""
