"""From a stack's settings to its organisation and plan: the one sequence every entry point runs.

The Pulumi program, ``plan``, ``diff``, ``kubeconfig``, ``whois`` and the policy pack all validate config the same
way, so a config that one of them refuses, every one of them refuses with the same line.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from access.core import config, quotas, stack_settings
from access.core.evaluate import Evaluation, check_stack
from access.core.model import Organisation
from access.core.plan.environment import plan_environment
from access.core.plan.types import EnvironmentPlan
from access.core.stack_settings import StackSettings


@dataclass(frozen=True)
class LoadedStack:
    settings: StackSettings
    org: Organisation
    plan: EnvironmentPlan
    # The effective access of the stack's cluster, already verified equal to what config grants.
    evaluation: Evaluation | None = None


def config_location(settings: StackSettings, project_dir: Path, override: Path | None = None) -> tuple[Path, str]:
    """The config directory and how messages name it: ``--config DIR`` as typed (relative to the working
    directory), else the stack file's ``access:configDir`` relative to the project directory."""
    if override is not None:
        return override, str(override).rstrip("/") or str(override)
    directory = Path(settings.config_dir)
    if not directory.is_absolute():
        directory = project_dir / directory
    return directory, settings.config_dir.rstrip("/") or settings.config_dir


def read_settings(project_dir: Path, stack: str) -> StackSettings:
    """``Pulumi.<stack>.yaml`` of ``project_dir``, validated."""
    return stack_settings.parse(stack, stack_settings.read_stack_file(project_dir, stack))


def load_organisation(settings: StackSettings, project_dir: Path, override: Path | None = None) -> Organisation:
    directory, label = config_location(settings, project_dir, override)
    org = config.load(directory, label=label)
    # Quotas are per account and cluster: every environment's share is checked before this one declares anything.
    quotas.preflight(org)
    return org


def plan_stack(settings: StackSettings, org: Organisation) -> LoadedStack:
    """The plan, refused unless what it renders gives every principal exactly what config grants."""
    plan = plan_environment(org, settings.environment, settings.auth_mode, settings.stack)
    stack_settings.check_account(settings, plan.account_id, plan.account, plan.environments_file)
    if plan.people_elsewhere:
        why = "people live (people.account) in"
        reach = plan.people_account
    else:
        why = "the Identity Center permission sets are administered (people.identity_center.account) from"
        reach = next((a.id for a in org.accounts.values() if a.account_id == plan.identity_center_account_id), "")
    stack_settings.check_identity_role(settings, reach, plan.identity_account_id, why, plan.environments_file)
    return LoadedStack(settings, org, plan, check_stack(org, plan))


def load_stack(project_dir: Path, stack: str, override: Path | None = None) -> LoadedStack:
    """Validate the stack file and config and compute the plan: every input error surfaces here."""
    settings = read_settings(project_dir, stack)
    return plan_stack(settings, load_organisation(settings, project_dir, override))
