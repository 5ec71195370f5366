"""``python -m access kubeconfig``: the command, where endpoints come from (``sources``), the file (``files``)."""
