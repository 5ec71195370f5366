"""The IAM half of an environment's stack: roles, the team groups' inline policies, and (in the account's home
environment) the groups and memberships.

With a central identity account (``people.account``) the groups, memberships, users and group policies are
declared through the identity provider (:func:`identity_provider`): a second AWS provider that assumes
``access:identityRoleArn`` in that account; the roles stay with the stack's own provider in the workload account.

No decisions are made here. Resources exist because the plan lists them; ``apply`` only fills in properties
(a role's ARN into a group policy).
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from access.core import iam
from access.core.plan.types import EnvironmentPlan, PermissionSetPlan
from access.core.stack_settings import StackSettings

PATCH_FORCE = "pulumi.com/patchForce"


def identity_provider(plan: EnvironmentPlan, settings: StackSettings) -> aws.Provider | None:
    """The AWS provider of the identity account, when the people live there (None otherwise).

    It assumes ``access:identityRoleArn`` (required then: ``loading`` checks it names a role of that account) and,
    like the stack's own provider with ``aws:allowedAccountIds``, refuses credentials of any other account."""
    if not plan.identity_account_id:
        return None
    assert settings.identity_role_arn is not None  # stack_settings.check_identity_role
    return aws.Provider(
        "identity",
        region=settings.region,
        allowed_account_ids=[plan.identity_account_id],
        assume_roles=[
            aws.ProviderAssumeRoleArgs(role_arn=settings.identity_role_arn, session_name=f"eks-access-{settings.stack}")
        ],
    )


class EnvironmentIam(pulumi.ComponentResource):
    """IAM of one environment: its roles and the group policies that let teams assume them; in the
    account's home environment also the teams' groups and the users' memberships."""

    def __init__(
        self,
        name: str,
        plan: EnvironmentPlan,
        opts: pulumi.ResourceOptions | None = None,
        people_provider: aws.Provider | None = None,
    ) -> None:
        super().__init__("eks-access:iam:EnvironmentIam", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        # Groups, users, memberships and group policies live where the people are (the identity account's
        # provider, when they are elsewhere); roles are always the workload account's. Permission sets are
        # managed from the Identity Center administrator account (the identity provider, when that is elsewhere).
        people = pulumi.ResourceOptions(parent=self, provider=people_provider if plan.people_elsewhere else None)
        sso = pulumi.ResourceOptions(parent=self, provider=people_provider)
        self.roles: dict[str, aws.iam.Role] = {}
        for role in plan.roles:
            self.roles[role.key] = aws.iam.Role(
                f"{name}-{role.name}",
                name=role.name,
                path=role.path,
                assume_role_policy=iam.policy_json(role.trust_policy),
                max_session_duration=role.max_session_duration,
                permissions_boundary=role.permissions_boundary,
                description=f"eks-access {role.kind} role ({role.key}) for environment {plan.environment}",
                tags=role.tags,
                # IAM role names are unique whatever the path, so a replacement (a path change) can never
                # create the new role before the old one is gone.
                opts=pulumi.ResourceOptions(parent=self, delete_before_replace=True),
            )
            for policy_arn in role.managed_policy_arns:
                aws.iam.RolePolicyAttachment(
                    f"{name}-{role.name}-{policy_arn.rsplit('/', 1)[-1]}",
                    role=self.roles[role.key].name,
                    policy_arn=policy_arn,
                    opts=child,
                )

        # Retained when a team goes away: the home environment's stack runs first, while the other environments'
        # inline policies are still attached and IAM refuses to delete the group. Left empty (its memberships go
        # with the team), it is deleted by hand once every stack has run (docs/iam.md).
        retained = pulumi.ResourceOptions(
            parent=self, retain_on_delete=True, provider=people_provider if plan.people_elsewhere else None
        )
        self.groups: dict[str, aws.iam.Group] = {
            group.team: aws.iam.Group(f"{name}-{group.name}", name=group.name, path=group.path, opts=retained)
            for group in plan.groups
        }
        users = {
            user: aws.iam.User(f"{name}-user-{user}", name=user, tags={"managed-by": "eks-access"}, opts=people)
            for user in plan.users_to_create
        }
        for policy in plan.group_policies:
            arns = [self.roles[key].arn for key in policy.role_keys]
            group = self.groups[policy.team].name if policy.team in self.groups else policy.group_name
            aws.iam.GroupPolicy(
                f"{name}-{policy.group_name}-{policy.policy_name}",
                group=group,
                name=policy.policy_name,
                policy=pulumi.Output.all(*arns).apply(
                    lambda resolved: iam.policy_json(iam.assume_roles_policy(resolved))
                ),
                opts=people,
            )
        for membership in plan.memberships:
            # UserGroupMembership, not GroupMembership: the latter is exclusive and removes hand-added users.
            aws.iam.UserGroupMembership(
                f"{name}-membership-{membership.user}",
                user=users[membership.user].name if membership.user in users else membership.user,
                groups=[self.groups[g].name for g in _teams_of(plan, membership.groups)],
                opts=people,
            )
        for permission_set in plan.permission_sets:
            self._permission_set(name, plan, permission_set, sso)
        self.register_outputs({"roleArns": {key: role.arn for key, role in self.roles.items()}})

    def _permission_set(
        self, name: str, plan: EnvironmentPlan, permission_set: PermissionSetPlan, opts: pulumi.ResourceOptions
    ) -> None:
        """The team's permission set for this environment, its inline policy (the roles' ARNs from their outputs)
        and its assignment to the Identity Center group in this environment's account."""
        prefix = f"{name}-{permission_set.name}"
        created = aws.ssoadmin.PermissionSet(
            prefix,
            instance_arn=plan.identity_center_instance_arn,
            name=permission_set.name,
            description=f"eks-access: team {permission_set.team} in environment {plan.environment}",
            session_duration="PT1H",  # role chaining caps the chained session at one hour anyway
            opts=opts,
        )
        arns = [self.roles[key].arn for key in permission_set.role_keys]
        aws.ssoadmin.PermissionSetInlinePolicy(
            f"{prefix}-policy",
            instance_arn=plan.identity_center_instance_arn,
            permission_set_arn=created.arn,
            inline_policy=pulumi.Output.all(*arns).apply(
                lambda resolved: iam.policy_json(iam.permission_set_policy(resolved))
            ),
            opts=opts,
        )
        group = aws.identitystore.get_group_output(
            identity_store_id=plan.identity_store_id,
            alternate_identifier=aws.identitystore.GetGroupAlternateIdentifierArgs(
                unique_attribute=aws.identitystore.GetGroupAlternateIdentifierUniqueAttributeArgs(
                    attribute_path="DisplayName", attribute_value=permission_set.group
                )
            ),
            opts=pulumi.InvokeOutputOptions(parent=self, provider=opts.provider),
        )
        aws.ssoadmin.AccountAssignment(
            f"{prefix}-assignment",
            instance_arn=plan.identity_center_instance_arn,
            permission_set_arn=created.arn,
            principal_id=group.group_id,
            principal_type="GROUP",
            target_id=permission_set.account_id,
            target_type="AWS_ACCOUNT",
            opts=opts,
        )


def _teams_of(plan: EnvironmentPlan, group_names: tuple[str, ...]) -> list[str]:
    by_name = {g.name: g.team for g in plan.groups}
    return [by_name[n] for n in group_names]
