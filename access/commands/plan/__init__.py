"""``python -m access plan``: the command (``command``), the JSON document (``document``), its renderings."""
