"""The plan: what one environment's stack should create, computed purely from the organisation.

Everything is sorted and keyed by stable ids, so reordering config changes nothing and the same config always
gives the same plan. ``types`` holds the records; ``roles``, ``groups``, ``auth`` and ``rbac`` compute the parts;
``environment.plan_environment`` puts them together.
"""
