"""Load ``config/*.yaml`` into a validated :class:`access.core.model.Organisation`.

One module per file (settings, environments, teams, projects, access; levels apart), and ``derived`` for the
names that combine several files. Every problem is a :class:`ConfigError` naming the file and the key path,
with a hint how to fix it. Unknown keys are rejected everywhere. Ids are lowercased; two ids equal after that
are an error.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from access.core.config import access, derived, environments, projects, settings, teams
from access.core.config.nodes import Source
from access.core.model import Organisation
from access.errors import ConfigError

FILES = ("settings.yaml", "environments.yaml", "teams.yaml", "projects.yaml", "access.yaml")


def load(config_dir: Path | str, label: str | None = None) -> Organisation:
    """Load and validate the organisation in ``config_dir``; raises ConfigError."""
    source = Source(Path(config_dir), label if label is not None else str(config_dir).rstrip("/"))
    if not source.dir.is_dir():
        raise ConfigError(source.label, "", "config directory not found (set access:configDir or pass --config)")
    options = settings.read(source)
    places = environments.read(source)
    team_table = teams.read(source, options.roles, places.people)
    project_table = projects.read(source, team_table, places.environments)
    grants = access.read(source, team_table, project_table, places.clusters)
    clusters = places.clusters
    if grants.break_glass_role_arn is not None:
        # cluster_admins.break_glass_role is every cluster's, unless the cluster names its own.
        clusters = {
            cid: replace(c, break_glass_role_arn=c.break_glass_role_arn or grants.break_glass_role_arn)
            for cid, c in clusters.items()
        }
    org = Organisation(
        accounts=places.accounts,
        clusters=clusters,
        environments=places.environments,
        teams=team_table,
        projects=project_table,
        levels=grants.levels,
        grants=grants.grants,
        admin_teams=grants.admin_teams,
        monitoring=grants.monitoring,
        ci=grants.ci,
        map_users=grants.map_users,
        naming=options.naming,
        roles=options.roles,
        create_users=options.create_users,
        admin_trust=grants.admin_trust,
        people=places.people,
        files={name: source.file_label(name) for name in FILES},
    )
    derived.check(org, grants.root, places.nodes, source.role_refs)
    return org
