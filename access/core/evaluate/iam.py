"""Who may assume each role, as IAM decides it: the role's trust policy and the caller's identity policies.

IAM's evaluation logic (IAM User Guide, "Policy evaluation logic"; "AWS JSON policy elements: Principal"):

- A role's trust policy must allow the principal explicitly. When it names a specific principal of the role's own
  account, that is enough; when it names an account (its root, or its id), it "delegates authority to the
  account": a principal of that account then also needs an identity policy allowing ``sts:AssumeRole`` on the
  role. Cross-account principals always need both.
- An explicit Deny in either wins; ``Action``/``Resource`` may use ``*`` and ``?`` wildcards; ``NotAction`` and
  ``NotResource`` invert the match.
- Conditions are read for what decides who can pass: ``aws:username`` (present only for IAM users) and
  ``aws:PrincipalArn`` lists admit exactly the users they name; a condition on ``${aws:username}`` keeps roles
  and federated sessions out; ``sts:ExternalId``, MFA and the session-name pin are requirements the caller can
  meet. Conditions this module does not know are assumed to be met, so an unknown condition can only make the
  evaluation report more access, never hide some.

Identity policies other than eks-access's group policies are unknown here. Where a trust admits a whole account,
the result includes the principal "any IAM user of that account whose own policies allow it"
(:class:`PrincipalKind.ACCOUNT`), which the plan shows and the intent must declare.
"""

from __future__ import annotations

import fnmatch
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from access.core import names
from access.core.evaluate.documents import ClusterDocuments, RoleDocument
from access.core.evaluate.types import Principal, PrincipalKind, Route, identity_center_group, user
from access.core.evaluate.types import role as role_principal

ASSUME_ACTIONS = ("sts:AssumeRole", "sts:AssumeRoleWithWebIdentity", "sts:AssumeRoleWithSAML")
USERNAME_KEYS = ("aws:username",)
PRINCIPAL_ARN_KEY = "aws:principalarn"
USER_ONLY_VARIABLE = "${aws:username}"


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for s in _list(document.get("Statement")) if isinstance(s, dict)]


def _glob(pattern: str, value: str, ignore_case: bool = False) -> bool:
    """IAM's ``*`` and ``?`` wildcards over the whole string (ARNs: ``*`` may span ``/`` and ``:``)."""
    if ignore_case:
        pattern, value = pattern.lower(), value.lower()
    return fnmatch.fnmatchcase(value, pattern)


def _action_matches(statement: dict[str, Any], action: str) -> bool:
    # Action names are case-insensitive in IAM.
    if "Action" in statement:
        return any(_glob(a, action, ignore_case=True) for a in _list(statement["Action"]))
    if "NotAction" in statement:
        return not any(_glob(a, action, ignore_case=True) for a in _list(statement["NotAction"]))
    return False


def _resource_matches(statement: dict[str, Any], arn: str) -> bool:
    if "Resource" in statement:
        return any(_glob(r, arn) for r in _list(statement["Resource"]))
    if "NotResource" in statement:
        return not any(_glob(r, arn) for r in _list(statement["NotResource"]))
    return False


@dataclass
class IdentityPolicies:
    """The accounts' group policies and memberships, indexed by the role ARNs they allow.

    Every Allow of ``sts:AssumeRole`` on exact ARNs is indexed by ARN; statements with wildcards or ``NotResource``
    are matched per role; unconditional Denies are checked per role too. So finding who may assume a role costs
    the members of the groups that name it, not every user of the account.
    """

    members: dict[tuple[str, str], list[str]] = field(default_factory=lambda: defaultdict(list))
    user_groups: dict[tuple[str, str], list[str]] = field(default_factory=lambda: defaultdict(list))
    exact: dict[tuple[str, str], list[tuple[str, str]]] = field(default_factory=lambda: defaultdict(list))
    patterns: dict[str, list[tuple[str, str, dict[str, Any]]]] = field(default_factory=lambda: defaultdict(list))
    denies: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    # Identity Center permission sets provisioned in each account: (name, group, inline policy)
    permission_sets: dict[str, list[tuple[str, str, dict[str, Any]]]] = field(default_factory=lambda: defaultdict(list))

    def permission_set_groups(self, account: str, role_arn: str, admits: Any) -> list[tuple[str, str]]:
        """(group, permission set) whose role in ``account`` ``admits`` (a predicate on the role's possible ARNs)
        and whose inline policy allows assuming ``role_arn`` with no unconditional Deny."""
        out = []
        for name, group, document in self.permission_sets.get(account, []):
            if not any(admits(arn) for arn in sso_role_arns(account, name)):
                continue
            statements = _statements(document)
            allows = any(
                s.get("Effect") == "Allow" and _action_matches(s, "sts:AssumeRole") and _resource_matches(s, role_arn)
                for s in statements
            )
            denied = any(
                s.get("Effect") == "Deny"
                and not s.get("Condition")
                and _action_matches(s, "sts:AssumeRole")
                and _resource_matches(s, role_arn)
                for s in statements
            )
            if allows and not denied:
                out.append((group, name))
        return out

    def allowed_users(self, account: str, role_arn: str) -> dict[str, str]:
        """IAM users of ``account`` whose eks-access group policies allow assuming ``role_arn``: name -> policy."""
        allowing = list(self.exact.get((account, role_arn), []))
        allowing += [(g, n) for g, n, s in self.patterns.get(account, []) if _resource_matches(s, role_arn)]
        out: dict[str, str] = {}
        for group, name in allowing:
            for member in self.members.get((account, group), []):
                out.setdefault(member, f"{group}/{name}")
        return {u: via for u, via in out.items() if not self._denied(account, u, role_arn)}

    def _denied(self, account: str, member: str, role_arn: str) -> bool:
        return any(
            _resource_matches(statement, role_arn)
            for group in self.user_groups.get((account, member.lower()), [])
            for statement in self.denies.get((account, group), [])
        )


def sso_role_arns(account: str, permission_set: str) -> list[str]:
    """The ARNs IAM Identity Center may give a permission set's role in an account: with and without the region in
    its path, with some 16-character suffix."""
    base = f"arn:aws:iam::{account}:role{names.SSO_ROLE_PATH}"
    name = f"AWSReservedSSO_{permission_set}_0123456789abcdef"
    return [f"{base}{name}", f"{base}eu-west-1/{name}"]


def identity_policies(documents: ClusterDocuments) -> IdentityPolicies:
    index = IdentityPolicies()
    for membership in documents.memberships:
        for group in membership.groups:
            index.members[(membership.account_id, group.lower())].append(membership.user)
            index.user_groups[(membership.account_id, membership.user.lower())].append(group.lower())
    for permission_set in documents.permission_sets:
        index.permission_sets[permission_set.account_id].append(
            (permission_set.name, permission_set.group, permission_set.document)
        )
    for policy in documents.group_policies:
        group = policy.group.lower()
        for statement in _statements(policy.document):
            if not _action_matches(statement, "sts:AssumeRole"):
                continue
            if statement.get("Effect") == "Deny":
                if not statement.get("Condition"):
                    index.denies[(policy.account_id, group)].append(statement)
                continue
            resources = [str(r) for r in _list(statement.get("Resource"))]
            if "Resource" in statement and not any("*" in r or "?" in r for r in resources):
                for arn in resources:
                    index.exact[(policy.account_id, arn)].append((group, policy.name))
            else:
                index.patterns[policy.account_id].append((group, policy.name, statement))
    return index


class _Conditions:
    """What a trust statement's conditions decide about who may pass."""

    def __init__(self, condition: Any) -> None:
        self.usernames: set[str] | None = None  # lower-cased when compared ignoring case
        self.usernames_ignore_case = False
        self.principal_arns: list[str] | None = None
        self.users_only = False  # a condition on ${aws:username}: roles and web identities never pass
        self.subjects: dict[str, list[str]] = {}  # OIDC "<host>:sub" -> values
        blocks = condition if isinstance(condition, dict) else {}
        for operator, block in blocks.items():
            if not isinstance(block, dict):
                continue
            for key, value in block.items():
                self._read(str(operator), str(key), [str(v) for v in _list(value)])

    def _read(self, operator: str, key: str, values: list[str]) -> None:
        lowered = key.lower()
        if USER_ONLY_VARIABLE in values or lowered in USERNAME_KEYS:
            self.users_only = True
        if lowered in USERNAME_KEYS and operator.startswith("StringEquals"):
            self.usernames_ignore_case = operator.startswith("StringEqualsIgnoreCase")
            self.usernames = {v.lower() if self.usernames_ignore_case else v for v in values}
        elif lowered == PRINCIPAL_ARN_KEY and operator.startswith(("ArnEquals", "ArnLike", "StringEquals")):
            self.principal_arns = values
        elif lowered.endswith(":sub"):
            self.subjects[key] = values

    def admits_role(self, arn: str) -> bool:
        """A role session of ``arn`` (with its path: ``aws:PrincipalArn`` of a role carries it) passes."""
        if self.users_only or self.usernames is not None:
            return False
        return self.principal_arns is None or any(_glob(p, arn) for p in self.principal_arns)

    def sso_roles(self) -> list[str]:
        """The Identity Center roles the ``aws:PrincipalArn`` patterns name (one key per permission set)."""
        return sorted({names.strip_role_path(p) for p in self.principal_arns or [] if names.is_sso_role_arn(p)})

    def admits_user(self, account_id: str, name: str) -> bool:
        if self.usernames is not None:
            wanted = name.lower() if self.usernames_ignore_case else name
            if wanted not in self.usernames:
                return False
        if self.principal_arns is not None:
            arn = f"arn:aws:iam::{account_id}:user/{name}"
            return any(_glob(p, arn) or _glob(p.replace("user/", "user/*/"), arn) for p in self.principal_arns)
        return True

    @property
    def open_to_account(self) -> bool:
        """No list of names: any IAM user of the trusted account may pass (given its own policies)."""
        return self.usernames is None and self.principal_arns is None


def _account_of(principal: str) -> str | None:
    """The account a principal element names as a whole: ``arn:aws:iam::<id>:root`` or a bare 12-digit id."""
    if principal.isascii() and principal.isdigit() and len(principal) == 12:
        return principal
    parts = principal.split(":")
    if len(parts) == 6 and parts[2] == "iam" and parts[5] == "root":
        return parts[4]
    return None


def who_may_assume(documents: ClusterDocuments) -> dict[str, dict[Principal, Route]]:
    """For each role of the cluster's environments (by ARN): every principal that may assume it, and how."""
    policies = identity_policies(documents)
    return {role.arn: _assumers(role, policies) for role in documents.roles}


def _assumers(role: RoleDocument, policies: IdentityPolicies) -> dict[Principal, Route]:
    found: dict[Principal, Route] = {}
    denied: set[Principal] = set()
    for index, statement in enumerate(_statements(role.trust)):
        if not any(_action_matches(statement, action) for action in ASSUME_ACTIONS):
            continue
        sid = str(statement.get("Sid") or index)
        conditions = _Conditions(statement.get("Condition"))
        admitted = _admitted(role, statement, conditions, sid, policies)
        if statement.get("Effect") == "Deny" and not statement.get("Condition"):
            denied |= set(admitted)
        elif statement.get("Effect") == "Allow":
            for principal, route in admitted.items():
                found.setdefault(principal, route)
    return {p: r for p, r in found.items() if p not in denied}


def _admitted(
    role: RoleDocument, statement: dict[str, Any], conditions: _Conditions, sid: str, policies: IdentityPolicies
) -> dict[Principal, Route]:
    principal = statement.get("Principal")
    if principal == "*":
        return {Principal(PrincipalKind.ACCOUNT, "*"): Route(role.arn, sid)}
    if not isinstance(principal, dict):
        return {}
    out: dict[Principal, Route] = {}
    for value in map(str, _list(principal.get("AWS"))):
        account = _account_of(value)
        if account is not None:
            out |= _account_users(role, account, conditions, sid, policies)
        elif ":user/" in value:
            account_id, name = value.split(":")[4], value.rsplit("/", 1)[-1]
            if conditions.admits_user(account_id, name):
                out[user(account_id, name)] = Route(role.arn, sid)
        elif not conditions.users_only:
            out[role_principal(value)] = Route(role.arn, sid)
    if not conditions.users_only:
        for provider in map(str, _list(principal.get("Federated"))):
            subjects = [s for values in conditions.subjects.values() for s in values] or ["*"]
            for subject in subjects:
                out[Principal(PrincipalKind.FEDERATED, f"{provider}|{subject}")] = Route(role.arn, sid)
        for service in map(str, _list(principal.get("Service"))):
            out[Principal(PrincipalKind.SERVICE, service)] = Route(role.arn, sid)
    return out


def _account_users(
    role: RoleDocument, account: str, conditions: _Conditions, sid: str, policies: IdentityPolicies
) -> dict[Principal, Route]:
    """An account-root principal: that account's IAM users whose identity policies allow the role; and, where the
    conditions name nobody in particular, any other principal of the account its own policies allow."""
    out: dict[Principal, Route] = {}
    for name, allowing in sorted(policies.allowed_users(account, role.arn).items()):
        if conditions.admits_user(account, name):
            out[user(account, name)] = Route(role.arn, sid, allowing)
    for group, permission_set in policies.permission_set_groups(account, role.arn, conditions.admits_role):
        out[identity_center_group(account, group)] = Route(role.arn, sid, f"permission set {permission_set}")
    ours = {
        names.strip_role_path(arn)
        for name, _, _ in policies.permission_sets.get(account, [])
        for arn in [names.sso_role_patterns(account, name)[0]]
    }
    for pattern in conditions.sso_roles():
        if pattern not in ours:
            # Another party's Identity Center role (roles.trusted_principals): its own policies decide.
            out[role_principal(pattern)] = Route(role.arn, sid, "(its own policies)")
    if conditions.open_to_account:
        out[Principal(PrincipalKind.ACCOUNT, account)] = Route(role.arn, sid, "(its own policies)")
    elif conditions.usernames is not None:
        # Named by the trust: eks-access's groups may not allow it, its own policies may.
        for name in sorted(conditions.usernames):
            out.setdefault(user(account, name), Route(role.arn, sid, "(its own policies)"))
    return out
