"""IAM policy documents as plain dicts: trust policies and the groups' assume-role policies.

Pure functions of the model; the shell serialises them with :func:`policy_json`. Keys and lists are
sorted so that the same config always gives byte-identical documents.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from access.core import names
from access.core.model import CiDeployer, GithubOidc, Monitoring, RoleSettings

VERSION = "2012-10-17"
GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
GITHUB_OIDC_AUDIENCE = "sts.amazonaws.com"  # what aws-actions/configure-aws-credentials asks for
# Services that pass session tags when they assume a role, so their trust must also allow sts:TagSession
# (EKS Pod Identity: "Create IAM role with trust policy required by EKS Pod Identity", EKS user guide).
SESSION_TAGGING_SERVICES = frozenset({"pods.eks.amazonaws.com"})
PolicyDocument = dict[str, Any]


def policy_json(document: PolicyDocument) -> str:
    """Canonical JSON for a policy: compact and key-sorted, so equal documents are equal bytes."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"))


def policy_size(document: PolicyDocument) -> int:
    """Characters IAM counts against its size limits: it does not count white space (IAM quotas page)."""
    return sum(1 for char in policy_json(document) if not char.isspace())


USERNAME_VARIABLE = "${aws:username}"
# IAM user names are unique ignoring case (IAM identifiers page), but ${aws:username} is IAM's own spelling: the
# pin compares ignoring case, so a config member "alice" for the IAM user "Alice" still works.
# StringEqualsIgnoreCase applies to sts:RoleSessionName, a String key, and policy variables may be used in it
# (IAM condition operators; "IAM policy elements: Variables").
SESSION_PIN_OPERATOR = "StringEqualsIgnoreCase"
PIN_OPERATORS = ("StringEquals", SESSION_PIN_OPERATOR)


def _pins_session_name(statement: dict[str, Any]) -> bool:
    condition = statement.get("Condition") or {}
    return any(condition.get(op, {}).get("sts:RoleSessionName") == USERNAME_VARIABLE for op in PIN_OPERATORS)


def _grants_assume_role(statement: dict[str, Any]) -> bool:
    actions = statement.get("Action", [])
    actions = [actions] if isinstance(actions, str) else actions
    return statement.get("Effect") == "Allow" and any(
        a in ("*", "sts:*") or a.startswith("sts:AssumeRole") for a in actions
    )


def _statements(document: PolicyDocument) -> list[dict[str, Any]]:
    statements = document.get("Statement", [])
    return [statements] if isinstance(statements, dict) else list(statements)


def user_session_name_required(trust_policy: PolicyDocument) -> bool:
    """IAM users may assume the role only with their own user name as the session name: a kubeconfig must sign
    tokens with ``--session-name <IAM user>`` (``aws eks get-token`` cannot set it) or AssumeRole is denied."""
    return any(_pins_session_name(s) for s in _statements(trust_policy))


def session_name_identifies_user(trust_policy: PolicyDocument) -> bool:
    """Every statement that lets anyone assume the role requires the session name to be the caller's IAM user
    name, so ``{{SessionName}}`` in the Kubernetes username names the person (roles and federated callers have
    no ``aws:username``, so they cannot pass). One unpinned statement is enough to make it say nothing."""
    granting = [s for s in _statements(trust_policy) if _grants_assume_role(s)]
    return bool(granting) and all(_pins_session_name(s) for s in granting)


def _members_and_rest(document: PolicyDocument) -> tuple[set[str], str]:
    """The IAM user names a closed trust lists, and the document without them."""
    members: set[str] = set()
    stripped = json.loads(policy_json(document))
    for statement in _statements(stripped):
        for block in (statement.get("Condition") or {}).values():
            if isinstance(block, dict) and "aws:username" in block:
                value = block.pop("aws:username")
                members |= {str(v).lower() for v in (value if isinstance(value, list) else [value])}
    return members, policy_json(stripped)


def trust_only_narrows(before: PolicyDocument, after: PolicyDocument) -> bool:
    """The change from ``before`` to ``after`` only removes members a closed trust names: nobody new may assume
    the role, and every other condition (MFA, session pin, principals) is as it was."""
    members_before, rest_before = _members_and_rest(before)
    members_after, rest_after = _members_and_rest(after)
    return rest_before == rest_after and members_after <= members_before


def account_root(account_id: str) -> str:
    return f"arn:aws:iam::{account_id}:root"


def _conditions(
    settings: RoleSettings, account_users: bool, members: tuple[str, ...] | None = None
) -> dict[str, dict[str, Any]]:
    """Trust conditions for the account-root statement (``account_users``) or the explicit principals.

    ``members`` closes an account-root trust to exactly those IAM users (``aws:username`` is in the request
    context only for IAM users; roles and federated sessions never match it)."""
    conditions: dict[str, dict[str, Any]] = {}
    if account_users and settings.session_name_condition:
        # The session name becomes {{SessionName}} in the Kubernetes username: pinning it to the caller's
        # IAM user name puts the person in every audit-log entry. Roles have no aws:username, so this
        # statement also keeps other roles of the account out.
        conditions.setdefault(SESSION_PIN_OPERATOR, {})["sts:RoleSessionName"] = USERNAME_VARIABLE
    if account_users and members is not None:
        users = sorted(set(members), key=str.lower)
        conditions.setdefault(SESSION_PIN_OPERATOR, {})["aws:username"] = users[0] if len(users) == 1 else users
    if not account_users and settings.external_id is not None:
        # The confused-deputy guard for principals in other accounts (third parties, SSO accounts).
        conditions.setdefault("StringEquals", {})["sts:ExternalId"] = settings.external_id
    if settings.mfa.required:
        # Bool, not BoolIfExists: in an Allow, IfExists would also let in callers without any MFA context.
        conditions["Bool"] = {"aws:MultiFactorAuthPresent": "true"}
        conditions["NumericLessThan"] = {"aws:MultiFactorAuthAge": str(settings.mfa.max_age_seconds)}
    return conditions


def _statement(
    sid: str, principal: dict[str, Any], action: str | list[str], conditions: dict[str, dict[str, Any]] | None = None
) -> dict[str, Any]:
    statement: dict[str, Any] = {"Sid": sid, "Effect": "Allow", "Principal": principal, "Action": action}
    if conditions:
        statement["Condition"] = conditions
    return statement


def _one_or_sorted(values: Iterable[str]) -> str | list[str]:
    items = sorted(set(values))
    return items[0] if len(items) == 1 else items


# What a role chained from an Identity Center session may need: its session may carry a source identity and
# session tags, which AssumeRole passes on only if the trust also allows sts:SetSourceIdentity and sts:TagSession
# (IAM User Guide, "Monitor and control actions taken with assumed roles"; "Passing session tags in AWS STS").
SSO_ACTIONS = ["sts:AssumeRole", "sts:SetSourceIdentity", "sts:TagSession"]


def identity_center_statement(account_id: str, permission_sets: Iterable[str]) -> dict[str, Any]:
    """Trust for the roles IAM Identity Center provisions for eks-access's permission sets in ``account_id``.

    The principal is the account (the permission-set roles live in it) and ``aws:PrincipalArn`` ``ArnLike``
    narrows it to those roles, in both path variants, never an exact ARN (its suffix changes when the permission
    set is provisioned again). No MFA condition: Identity Center and SAML sessions carry no
    ``aws:MultiFactorAuthPresent`` (the identity provider enforces MFA), so ``Bool`` would lock every one of them
    out. No session-name pin: an assumed-role session has no ``aws:username`` to compare with."""
    patterns = sorted(p for name in set(permission_sets) for p in names.sso_role_patterns(account_id, name))
    return _statement(
        "IdentityCenterPermissionSets",
        {"AWS": account_root(account_id)},
        SSO_ACTIONS,
        {"ArnLike": {"aws:PrincipalArn": patterns[0] if len(patterns) == 1 else patterns}},
    )


def sso_principal_patterns(principals: Iterable[str]) -> list[str]:
    """``trusted_principals`` entries that are Identity Center roles, as ``aws:PrincipalArn`` patterns: the unique
    suffix replaced with 16 ``?`` and the path variants both covered (an exact ARN dangles after re-provisioning)."""
    out = []
    for arn in principals:
        if not names.is_sso_role_arn(arn):
            continue
        head, _, name = arn.rpartition("/")
        stem = name.rsplit("_", 1)[0] if name.count("_") >= 2 else name
        account_base = head.split(names.SSO_ROLE_PATH)[0] + names.SSO_ROLE_PATH
        out += [f"{account_base}{stem}_{'?' * 16}", f"{account_base}*/{stem}_{'?' * 16}"]
    return sorted(set(out))


def human_trust_policy(
    account_id: str,
    settings: RoleSettings,
    members: tuple[str, ...] | None = None,
    sso: tuple[str, tuple[str, ...]] | None = None,
    users: bool = True,
) -> PolicyDocument:
    """Trust for a role people assume: the account root with the session-name and MFA conditions, plus any
    explicitly trusted principals (e.g. SSO roles).

    Open (``members`` None): who may assume is decided by identity policies, eks-access's group policies and
    any other the account's principals have. Closed: only the IAM users named (still needing the group policy);
    ``users`` False (only Identity Center teams): no statement for IAM users. ``sso`` is (account id, permission
    sets): the Identity Center teams' permission-set roles in that account (:func:`identity_center_statement`)."""
    statements = []
    if settings.trust_account_root and users:
        statements.append(
            _statement(
                "AccountUsersAllowedByGroupPolicy" if members is None else "TeamMembersAllowedByGroupPolicy",
                {"AWS": account_root(account_id)},
                "sts:AssumeRole",
                _conditions(settings, account_users=True, members=members),
            )
        )
    plain = [p for p in settings.trusted_principals if not names.is_sso_role_arn(p)]
    sso_roles = sso_principal_patterns(settings.trusted_principals)
    if plain:
        # Roles have no aws:username, so the session-name condition cannot apply to them; whois falls back
        # to CloudTrail for these sessions. External id and MFA still apply.
        statements.append(
            _statement(
                "ExplicitlyTrustedPrincipals",
                {"AWS": _one_or_sorted(plain)},
                "sts:AssumeRole",
                _conditions(settings, account_users=False),
            )
        )
    if sso_roles:
        # Identity Center roles named in trusted_principals: by pattern on aws:PrincipalArn (the principal is their
        # account), with what role chaining from an SSO session needs and without MFA (see identity_center_statement).
        accounts = sorted({names.parse_arn_account(p) for p in sso_roles})
        principal = {"AWS": _one_or_sorted(account_root(a) for a in accounts)}
        arn_like: dict[str, dict[str, Any]] = {"ArnLike": {"aws:PrincipalArn": sso_roles}}
        if settings.external_id is None:
            statements.append(_statement("TrustedIdentityCenterRoles", principal, SSO_ACTIONS, arn_like))
        else:
            # sts:ExternalId is a key of sts:AssumeRole only: the chaining actions get their own statement (the
            # AssumeRole itself still needs the ExternalId, so they admit nobody new).
            with_id = {**arn_like, "StringEquals": {"sts:ExternalId": settings.external_id}}
            statements.append(_statement("TrustedIdentityCenterRoles", principal, "sts:AssumeRole", with_id))
            statements.append(_statement("TrustedIdentityCenterRoleChaining", principal, SSO_ACTIONS[1:], arn_like))
    if sso is not None:
        statements.append(identity_center_statement(*sso))
    return {"Version": VERSION, "Statement": statements}


def monitoring_trust_policy(monitoring: Monitoring, account_id: str) -> PolicyDocument:
    """The monitoring system's roles, and AWS services acting for it in ``account_id`` only.

    ``aws:SourceAccount`` is AWS's cross-service confused-deputy guard for service principals (IAM User Guide,
    "The confused deputy problem": "include the aws:SourceAccount and aws:SourceArn global condition context keys
    in your role trust policy to limit access to the role to only requests that are generated by expected
    resources"): another account's use of the same service cannot assume the role."""
    source = {"StringEquals": {"aws:SourceAccount": account_id}}
    statements = []
    if monitoring.trusted_roles:
        statements.append(
            _statement("MonitoringSystemRoles", {"AWS": _one_or_sorted(monitoring.trusted_roles)}, "sts:AssumeRole")
        )
    plain = [s for s in monitoring.trusted_services if s not in SESSION_TAGGING_SERVICES]
    tagging = [s for s in monitoring.trusted_services if s in SESSION_TAGGING_SERVICES]
    if plain:
        statements.append(
            _statement("MonitoringServices", {"Service": _one_or_sorted(plain)}, "sts:AssumeRole", source)
        )
    if tagging:
        # Only the services that tag their sessions get sts:TagSession; without it Pod Identity cannot assume.
        statements.append(
            _statement(
                "MonitoringSessionTaggingServices",
                {"Service": _one_or_sorted(tagging)},
                ["sts:AssumeRole", "sts:TagSession"],
                source,
            )
        )
    return {"Version": VERSION, "Statement": statements}


def github_provider_arn(account_id: str, github: GithubOidc) -> str:
    return github.provider_arn or f"arn:aws:iam::{account_id}:oidc-provider/{GITHUB_OIDC_HOST}"


def github_subject(github: GithubOidc) -> str:
    """The token ``sub`` a deployer's workflow presents: a job that names a deployment environment gets
    ``repo:<owner>/<name>:environment:<env>`` (the branch is not in it; the environment's protection rules decide
    which branches may deploy), any other job ``repo:<owner>/<name>:ref:refs/heads/<branch>``."""
    if github.environment:
        return f"repo:{github.repository}:environment:{github.environment}"
    return f"repo:{github.repository}:ref:refs/heads/{github.branch}"


def ci_trust_policy(account_id: str, ci: CiDeployer) -> PolicyDocument:
    if ci.github is not None:
        # StringEquals on sub, never StringLike with a wildcard: only this branch or deployment environment.
        conditions = {
            "StringEquals": {
                f"{GITHUB_OIDC_HOST}:aud": GITHUB_OIDC_AUDIENCE,
                f"{GITHUB_OIDC_HOST}:sub": github_subject(ci.github),
            }
        }
        statement = _statement(
            "GithubActionsOidc",
            {"Federated": github_provider_arn(account_id, ci.github)},
            "sts:AssumeRoleWithWebIdentity",
            conditions,
        )
    else:
        assert ci.trusted_role_arn is not None  # the loader requires exactly one trust source
        statement = _statement("BuildAgentRole", {"AWS": ci.trusted_role_arn}, "sts:AssumeRole")
    return {"Version": VERSION, "Statement": [statement]}


def permission_set_policy(role_arns: Iterable[str]) -> PolicyDocument:
    """A permission set's inline policy: assume exactly these roles, passing on the session's source identity and
    tags (which role chaining from an SSO session may carry)."""
    return assume_roles_policy(role_arns, SSO_ACTIONS)


def assume_roles_policy(role_arns: Iterable[str], actions: str | list[str] = "sts:AssumeRole") -> PolicyDocument:
    """Inline group policy: sts:AssumeRole on exactly these roles (full ARNs, paths included)."""
    arns = sorted(set(role_arns))
    if not arns:
        raise ValueError("an assume-role policy needs at least one role ARN (IAM rejects an empty Resource)")
    return {
        "Version": VERSION,
        "Statement": [
            {
                "Sid": "AssumeEksAccessRoles",
                "Effect": "Allow",
                "Action": actions,
                "Resource": arns[0] if len(arns) == 1 else arns,
            }
        ],
    }
