"""``python -m access diff``: types, snapshot, compare, flags, base (loading both sides), render, command."""
