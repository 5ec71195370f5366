"""Who the contexts are for, and which roles they may enter: an IAM user (``--user``, or the caller STS names, with
IAM's spelling), or a role session (SSO, an assumed role) that some trust policy admits; and what each AssumeRole
must carry (ExternalId, MFA) for the way the tokens will be signed."""

from __future__ import annotations

import argparse
import re
import sys

from access.commands.kubeconfig.sources import caller_identity
from access.core.callers import Admission, Caller, admissions, find_member
from access.core.loading import LoadedStack
from access.core.model import RoleKind
from access.core.plan.types import RolePlan
from access.errors import UsageError

SESSION_NAME_RE = re.compile(r"^[\w+=,.@-]{2,64}$")  # STS roleSessionNameType
MFA_SERIAL_RE = re.compile(r"^[\w+=/:,.@-]{9,256}$")  # STS serialNumberType


def caller_of(args: argparse.Namespace, loaded: LoadedStack) -> Caller:
    """``--user NAME`` (config's spelling), else the caller of the current AWS credentials (IAM's spelling)."""
    org, plan = loaded.org, loaded.plan
    if args.user:
        name, teams = find_member(org, args.user)
        if not teams:
            raise UsageError(f"IAM user {args.user!r} is not a member of any team in config/teams.yaml")
        return Caller(f"arn:aws:iam::{plan.people_account_id}:user/{name}", plan.people_account_id, user_name=name)
    caller = caller_identity(loaded.settings.region)
    if caller.user_name is not None:
        if not find_member(org, caller.user_name)[1]:
            raise UsageError(f"IAM user {caller.user_name!r} is not a member of any team in config/teams.yaml")
        return caller
    if caller.role_arn is not None and caller.session_name is not None:
        if not SESSION_NAME_RE.match(caller.session_name):
            raise UsageError(
                f"your AWS credentials are {caller.arn}, whose session name cannot be passed on as a role session "
                "name (2-64 of [A-Za-z0-9+=,.@_-]); use your IAM user's credentials, or pass --user NAME"
            )
        return caller
    raise UsageError(f"your AWS credentials are {caller.arn}, neither an IAM user nor a role session; pass --user NAME")


def admitted_roles(loaded: LoadedStack, caller: Caller, project_arg: str | None) -> list[Admission]:
    """The caller's roles here (or only the project's); refused, saying why, when there are none."""
    org, plan = loaded.org, loaded.plan
    project = None
    if project_arg is not None:
        project = project_arg.lower()
        if project not in org.projects:
            raise UsageError(
                f"unknown project {project_arg!r}; config/projects.yaml has {', '.join(sorted(org.projects))}"
            )

    def wanted(role: RolePlan) -> bool:
        return project is None or (role.kind == RoleKind.HUMAN and role.project == project)

    admitted = [a for a in admissions(plan, org, caller) if wanted(a.role)]
    if admitted:
        return admitted
    scope = f"{f'project {project} ' if project else ''}in environment {plan.environment}"
    roles_scope = f"{f'of project {project} ' if project else ''}in environment {plan.environment}"
    if caller.user_name is None:
        role = (caller.role_arn or "").rsplit("/", 1)[-1]
        raise UsageError(
            f"your AWS credentials are {caller.arn}, a session of role {role}, and no role {roles_scope} trusts it "
            f"(they admit IAM users of account {plan.people_account_id} and roles.trusted_principals in "
            "config/settings.yaml); use your IAM user's credentials, or pass --user NAME"
        )
    name, teams = find_member(org, caller.user_name)
    by_key = {role.key: role for role in plan.roles}
    allowed = [by_key[k] for p in plan.group_policies if p.team in teams for k in p.role_keys if wanted(by_key[k])]
    if allowed:
        raise UsageError(
            f"{name}'s teams ({', '.join(teams)}) may assume {', '.join(sorted({r.name for r in allowed}))}, but "
            f"their trust policies admit no IAM user of account {caller.account_id} (roles.trust_account_root in "
            "config/settings.yaml)"
        )
    if project is not None:
        raise UsageError(f"{name} (teams: {', '.join(teams)}) has no access to {scope}")
    raise UsageError(f"{name}'s teams ({', '.join(teams)}) have no roles to assume {scope}")


def signable(admitted: list[Admission], caller: Caller, auth: str, mfa_serial: str | None) -> list[Admission]:
    """The roles whose trust conditions the chosen signer can meet; a refusal naming the way that works otherwise.

    aws-iam-authenticator ``token --role`` passes a session name and an ExternalId but never an MFA code
    (``pkg/token/token.go`` GetWithOptions sets no SerialNumber); the AWS CLI asks for the code of a profile's
    ``mfa_serial`` and caches the session. A role session has no MFA device of its own to present.
    """
    needs_mfa = [a for a in admitted if a.mfa]
    if not needs_mfa:
        return admitted
    names = ", ".join(a.role.name for a in needs_mfa)
    if caller.user_name is None:
        for admission in needs_mfa:
            print(
                f"note: {admission.role.name} requires MFA (aws:MultiFactorAuthPresent), which a role session cannot "
                "present to sts:AssumeRole; no context for it",
                file=sys.stderr,
            )
        kept = [a for a in admitted if not a.mfa]
        if not kept:
            raise UsageError(f"every role you may enter here ({names}) requires MFA; use your IAM user's credentials")
        return kept
    if auth != "aws-profile":
        raise UsageError(
            f"{names} require(s) MFA (aws:MultiFactorAuthPresent in the trust policy) and aws-iam-authenticator "
            "never sends an MFA code: use --auth aws-profile --mfa-serial <your MFA device ARN> (the AWS CLI asks for "
            "the code and caches the session)"
        )
    if mfa_serial is None:
        raise UsageError(
            f"{names} require(s) MFA: pass --mfa-serial <your MFA device ARN> so the profile asks for the code "
            f"(aws iam list-mfa-devices --user-name {caller.user_name} shows it)"
        )
    if not MFA_SERIAL_RE.match(mfa_serial):
        raise UsageError(
            f"--mfa-serial {mfa_serial!r}: expected an MFA device ARN like arn:aws:iam::<account>:mfa/<name>"
        )
    return admitted
