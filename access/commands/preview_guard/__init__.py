"""``python -m access preview-guard``: the engine's planned steps (``steps``) and the command."""
