"""Declared access is effective access: evaluate what a stack renders the way AWS and Kubernetes would.

- ``documents``: what would be applied to a cluster and its accounts, as plain documents.
- ``iam``: who may assume each role (trust policies x identity policies): :func:`iam.who_may_assume`.
- ``authenticator``: as whom the cluster sees a role or user (aws-auth as aws-iam-authenticator reads it, access
  entries).
- ``rbac``: what an identity may do (RBAC over the manifests, the cluster's own roles, access policies):
  :func:`rbac.permissions` decides "what may group G do in namespace N".
- ``effective``: the three put together, per principal; ``intent``: what config declares, from config alone;
  ``verify``: the two compared, the first difference refused with one line; ``matrix``: the rows people read.
"""

from __future__ import annotations

from access.core.evaluate.documents import ClusterDocuments, StackPart, render_cluster
from access.core.evaluate.effective import Evaluation, evaluate
from access.core.evaluate.intent import intent
from access.core.evaluate.matrix import (
    CLUSTER_WIDE,
    EVERYTHING,
    AccessRow,
    effective_access,
    permission_set,
    summarise_rules,
)
from access.core.evaluate.verify import verify
from access.core.model import AuthMode, Organisation
from access.core.plan.types import EnvironmentPlan

__all__ = [
    "CLUSTER_WIDE",
    "EVERYTHING",
    "AccessRow",
    "ClusterDocuments",
    "Evaluation",
    "StackPart",
    "check_stack",
    "effective_access",
    "evaluate_stack",
    "permission_set",
    "summarise_rules",
]


def evaluate_stack(org: Organisation, plan: EnvironmentPlan, applied: StackPart | None = None) -> Evaluation:
    """The effective access in the stack's cluster (every environment on it), from the rendered documents.

    ``applied`` is the stack's own part as read from the resources the engine is about to apply (the policy pack):
    it replaces the stack's rendering, and the cluster's other environments are rendered from config."""
    documents = render_cluster(
        org,
        plan.cluster,
        {plan.environment: plan},
        # Other environments on a shared cluster are api-mode stacks (the plan refuses anything else).
        lambda env: plan.auth_mode if env == plan.environment else AuthMode.API,
        applied,
    )
    return evaluate(documents)


def check_stack(org: Organisation, plan: EnvironmentPlan, applied: StackPart | None = None) -> Evaluation:
    """Evaluate the stack's cluster and refuse (ConfigError, one line) unless effective access equals intent.

    The program, ``plan`` and ``diff`` check the stack's rendering; the policy pack checks ``applied``, the same
    documents read from the engine's resources, with the same evaluation and intent."""
    evaluation = evaluate_stack(org, plan, applied)
    verify(org, evaluation, intent(org, plan.cluster))
    return evaluation
