"""IAM policy documents as plain dicts: trust policies and the groups' assume-role policies.

Pure functions of the model; the shell serialises them with :func:`policy_json`. Keys and lists are
sorted so that the same config always gives byte-identical documents.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from access.model import CiDeployer, Monitoring, RoleSettings

VERSION = "2012-10-17"
GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
PolicyDocument = dict[str, Any]


def policy_json(document: PolicyDocument) -> str:
    """Canonical JSON for a policy: compact and key-sorted, so equal documents are equal bytes."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"))


def policy_size(document: PolicyDocument) -> int:
    """Characters IAM counts against its limits (whitespace outside strings is not counted)."""
    return len(policy_json(document))


def account_root(account_id: str) -> str:
    return f"arn:aws:iam::{account_id}:root"


def _conditions(settings: RoleSettings, session_name: bool) -> dict[str, dict[str, str]]:
    conditions: dict[str, dict[str, str]] = {}
    if session_name and settings.session_name_condition:
        # The session name becomes {{SessionName}} in the Kubernetes username: pinning it to the caller's
        # IAM user name puts the person in every audit-log entry.
        conditions.setdefault("StringEquals", {})["sts:RoleSessionName"] = "${aws:username}"
    if settings.external_id is not None and not session_name:
        conditions.setdefault("StringEquals", {})["sts:ExternalId"] = settings.external_id
    if settings.mfa.required:
        # Bool, not BoolIfExists: in an Allow, IfExists would also let in callers without any MFA context.
        conditions["Bool"] = {"aws:MultiFactorAuthPresent": "true"}
        conditions["NumericLessThan"] = {"aws:MultiFactorAuthAge": str(settings.mfa.max_age_seconds)}
    return conditions


def _statement(
    sid: str, principal: dict[str, Any], action: str | list[str], conditions: dict[str, dict[str, str]] | None = None
) -> dict[str, Any]:
    statement: dict[str, Any] = {"Sid": sid, "Effect": "Allow", "Principal": principal, "Action": action}
    if conditions:
        statement["Condition"] = conditions
    return statement


def _one_or_sorted(values: Iterable[str]) -> str | list[str]:
    items = sorted(set(values))
    return items[0] if len(items) == 1 else items


def human_trust_policy(account_id: str, settings: RoleSettings) -> PolicyDocument:
    """Trust for a role people assume: the account root (who may assume is decided by group policies)
    with the session-name and MFA conditions, plus any explicitly trusted principals (e.g. SSO roles)."""
    statements = []
    if settings.trust_account_root:
        statements.append(
            _statement(
                "AccountUsersAllowedByGroupPolicy",
                {"AWS": account_root(account_id)},
                "sts:AssumeRole",
                _conditions(settings, session_name=True),
            )
        )
    if settings.trusted_principals:
        # Roles have no aws:username, so the session-name condition cannot apply to them; whois falls back
        # to CloudTrail for these sessions. External id and MFA still apply.
        statements.append(
            _statement(
                "ExplicitlyTrustedPrincipals",
                {"AWS": _one_or_sorted(settings.trusted_principals)},
                "sts:AssumeRole",
                _conditions(settings, session_name=False),
            )
        )
    return {"Version": VERSION, "Statement": statements}


def monitoring_trust_policy(monitoring: Monitoring) -> PolicyDocument:
    statements = []
    if monitoring.trusted_roles:
        statements.append(
            _statement("MonitoringSystemRoles", {"AWS": _one_or_sorted(monitoring.trusted_roles)}, "sts:AssumeRole")
        )
    if monitoring.trusted_services:
        # EKS Pod Identity (pods.eks.amazonaws.com) also needs sts:TagSession.
        statements.append(
            _statement(
                "MonitoringServices",
                {"Service": _one_or_sorted(monitoring.trusted_services)},
                ["sts:AssumeRole", "sts:TagSession"],
            )
        )
    return {"Version": VERSION, "Statement": statements}


def ci_trust_policy(account_id: str, ci: CiDeployer) -> PolicyDocument:
    if ci.github is not None:
        github = ci.github
        provider = github.provider_arn or f"arn:aws:iam::{account_id}:oidc-provider/{GITHUB_OIDC_HOST}"
        if github.environment:
            subject = f"repo:{github.repository}:environment:{github.environment}"
        else:
            subject = f"repo:{github.repository}:ref:refs/heads/{github.branch}"
        conditions = {
            "StringEquals": {f"{GITHUB_OIDC_HOST}:aud": "sts.amazonaws.com", f"{GITHUB_OIDC_HOST}:sub": subject}
        }
        statement = _statement(
            "GithubActionsOidc", {"Federated": provider}, "sts:AssumeRoleWithWebIdentity", conditions
        )
    else:
        assert ci.trusted_role_arn is not None  # the loader requires exactly one trust source
        statement = _statement("BuildAgentRole", {"AWS": ci.trusted_role_arn}, "sts:AssumeRole")
    return {"Version": VERSION, "Statement": [statement]}


def assume_roles_policy(role_arns: Iterable[str]) -> PolicyDocument:
    """Inline group policy: sts:AssumeRole on exactly these roles (full ARNs, paths included)."""
    arns = sorted(set(role_arns))
    return {
        "Version": VERSION,
        "Statement": [
            {
                "Sid": "AssumeEksAccessRoles",
                "Effect": "Allow",
                "Action": "sts:AssumeRole",
                "Resource": arns[0] if len(arns) == 1 else arns,
            }
        ],
    }
