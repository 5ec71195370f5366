"""eks-access: team/project/environment access to EKS clusters from reviewed config.

Pure core: config -> model -> plan -> documents (no pulumi imports). Pulumi shell: program, components,
offline. Tools: ``python -m access``.
"""
