"""How many IAM write calls a stack's first ``pulumi up`` makes, and how long that takes (issue 14, item 7).

Counted from the plan, resource by resource, as the pulumi-aws provider (a bridge over terraform-provider-aws,
``internal/service/iam``) issues them on create:

- ``aws.iam.Role``: ``CreateRole`` (tags, path, permissions boundary and trust policy are in the request; the
  provider tags after the create only outside the ``aws`` partition);
- ``aws.iam.RolePolicyAttachment`` (one per managed policy ARN): ``AttachRolePolicy``;
- ``aws.iam.Group``: ``CreateGroup``; ``aws.iam.GroupPolicy``: ``PutGroupPolicy``;
- ``aws.iam.UserGroupMembership``: ``AddUserToGroup`` once per group (the provider's ``addUserToGroups`` loops);
- ``aws.iam.User`` (users config asks eks-access to create): ``CreateUser`` (tags in the request).

Reads the provider makes after each create (``GetRole``, ``ListAttachedRolePolicies``, ...) are not writes and
are not counted. AWS publishes no rate for IAM's write APIs: it throttles them per account with token buckets
whose size "depends on the API" and says the rates cannot be raised (AWS Security Blog, "How to monitor and query
IAM resources at scale – Part 2"; AWS re:Post, "How do I resolve API throttling or 'Rate exceeded' errors for IAM
and AWS STS?"). The time is therefore given at an assumed planning rate, :data:`PLANNING_RATE`, not a documented
one; the provider retries throttled calls with backoff, so a faster attempt only turns into retries.
"""

from __future__ import annotations

from access.core.plan.types import EnvironmentPlan

# IAM write calls per second per account assumed for planning (not an AWS figure: AWS publishes none).
PLANNING_RATE = 10


def first_apply_iam_writes(plan: EnvironmentPlan) -> dict[str, int]:
    """IAM write calls by API name that creating the plan's IAM resources makes (empty names left out)."""
    calls = {
        "CreateRole": len(plan.roles),
        "AttachRolePolicy": sum(len(role.managed_policy_arns) for role in plan.roles),
        "CreateGroup": len(plan.groups),
        "PutGroupPolicy": len(plan.group_policies),
        "AddUserToGroup": sum(len(m.groups) for m in plan.memberships),
        "CreateUser": len(plan.users_to_create),
    }
    return {name: count for name, count in calls.items() if count}


def minutes_at(calls: int, rate: float = PLANNING_RATE) -> float:
    """Minutes ``calls`` IAM writes take at ``rate`` calls per second, throttled at best to that rate."""
    return calls / rate / 60
