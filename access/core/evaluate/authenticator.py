"""As whom the cluster sees a role or user: aws-auth read as aws-iam-authenticator reads it, and EKS access entries.

aws-iam-authenticator (pkg/arn ``Canonicalize``, pkg/mapper/configmap): the caller's ARN is canonicalised
(``assumed-role/NAME/session`` becomes ``role/NAME``, without the role's IAM path) and lower-cased, then looked
up among the ``mapRoles`` entries keyed by their lower-cased ``rolearn`` as written, the last duplicate winning;
so an entry written with a path never matches. ``{{SessionName}}`` is the session name with ``@`` turned into
``-`` (``{{SessionNameRaw}}`` keeps it). ``mapUsers`` entries match an IAM user's ARN the same way.

EKS access entries (EKS user guide, "Grant IAM users access to Kubernetes with EKS access entries") match the
principal's full ARN, path included; a role entry without a username gets
``arn:aws:sts::<account>:assumed-role/<name>/{{SessionName}}``. In ``API_AND_CONFIG_MAP`` an access entry takes
precedence over aws-auth for the same principal (EKS Best Practices Guide, "Identity and Access Management").

Every authenticated identity is also in ``system:authenticated`` (kubernetes/apiserver authenticated_group_adder).
"""

from __future__ import annotations

from dataclasses import dataclass

from access.core import awsauth, names
from access.core.evaluate.documents import AccessEntryDocument, ClusterDocuments
from access.core.evaluate.types import Identity
from access.core.plan.types import MapEntry

AUTHENTICATED = "system:authenticated"
MACHINE_SESSION = "<session>"  # how the matrix fills {{SessionName}} for machines (any session name)
NODE_ENTRY_IDENTITIES = {
    "EC2_LINUX": ("system:node:{{EC2PrivateDNSName}}", ("system:bootstrappers", "system:nodes")),
    "EC2_WINDOWS": ("system:node:{{EC2PrivateDNSName}}", ("system:bootstrappers", "system:nodes")),
    "FARGATE_LINUX": ("system:node:{{SessionName}}", ("system:bootstrappers", "system:nodes", "system:node-proxier")),
}


def render_username(template: str, session: str, account_id: str) -> str:
    return (
        template.replace("{{SessionName}}", session.replace("@", "-"))
        .replace("{{SessionNameRaw}}", session)
        .replace("{{AccountID}}", account_id)
    )


@dataclass(frozen=True)
class Mappings:
    """The cluster's mappings, indexed as the authenticator and EKS index them."""

    map_roles: dict[str, MapEntry]  # lower-cased rolearn as written -> entry (last duplicate wins)
    map_users: dict[str, MapEntry]
    entries: dict[str, AccessEntryDocument]  # lower-cased principal ARN -> entry
    reads_aws_auth: bool
    reads_access_entries: bool


def mappings(documents: ClusterDocuments) -> Mappings:
    map_roles = {e.arn.lower(): e for e in awsauth.parse(documents.map_roles)} if documents.reads_aws_auth else {}
    map_users = (
        {e.arn.lower(): e for e in awsauth.parse(documents.map_users, awsauth.USER_ARN_KEY)}
        if documents.reads_aws_auth
        else {}
    )
    entries = {e.principal_arn.lower(): e for e in documents.access_entries} if documents.reads_access_entries else {}
    return Mappings(map_roles, map_users, entries, documents.reads_aws_auth, documents.reads_access_entries)


def role_identity(m: Mappings, role_arn: str, session: str) -> Identity | None:
    """How the cluster sees a session of ``role_arn`` named ``session``; None when nothing maps it."""
    account_id = role_arn.split(":")[4]
    entry = m.entries.get(role_arn.lower())
    if entry is not None:
        return _entry_identity(entry, role_arn, session, account_id)
    mapped = m.map_roles.get(names.strip_role_path(role_arn).lower())
    if mapped is None:
        return None
    return Identity(render_username(mapped.username, session, account_id), _groups(mapped.groups), via="mapRoles")


def user_identity(m: Mappings, user_arn: str) -> Identity | None:
    """An IAM user signing tokens with its own keys (the discouraged mapUsers path, or a user access entry)."""
    account_id = user_arn.split(":")[4]
    entry = m.entries.get(user_arn.lower())
    if entry is not None:
        return _entry_identity(entry, user_arn, "", account_id)
    mapped = m.map_users.get(user_arn.lower())
    if mapped is None:
        return None
    return Identity(render_username(mapped.username, "", account_id), _groups(mapped.groups), via="mapUsers")


def _entry_identity(entry: AccessEntryDocument, arn: str, session: str, account_id: str) -> Identity:
    if entry.type in NODE_ENTRY_IDENTITIES:
        username, groups = NODE_ENTRY_IDENTITIES[entry.type]
        return Identity(username, _groups(groups), via="access entry")
    default = f"arn:aws:sts::{account_id}:assumed-role/{arn.rsplit('/', 1)[-1]}/{{{{SessionName}}}}"
    if ":user/" in arn:
        default = arn
    username = render_username(entry.username or default, session, account_id)
    return Identity(username, _groups(entry.groups), entry.policies, via="access entry")


def _groups(groups: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(sorted({*groups, AUTHENTICATED}))
