"""Issue 17: eks-access under the real Pulumi engine, the real Kubernetes provider and a real kube-apiserver.

Every assertion reads real state: objects on the API server, `pulumi stack export`, moto's IAM, exit codes and the
CLI's output. Scenarios 1, 3, 6, 7, 8 and 4 share one deployment of the dev stack (in that order; 4 ends with
`pulumi destroy`); 2 and 5 need a cluster prepared before the first `pulumi up` and get their own.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import harness
import pytest
import servers
import yaml

pytestmark = pytest.mark.e2e

NODE_ROLES = [
    "arn:aws:iam::111122223333:role/eks-dev-nodes",
    "arn:aws:iam::111122223333:role/eks-dev-fargate-pods",
]
NODE_GROUP_ROLE = "arn:aws:iam::111122223333:role/eks-dev-ng-2"  # what EKS adds for a managed node group
PATCH = "kubernetes:core/v1:ConfigMapPatch"
NS_PATCH = "kubernetes:core/v1:NamespacePatch"
ROLE = "aws:iam/role:Role"
RBAC = "/apis/rbac.authorization.k8s.io/v1"


def users_in(s: harness.Scenario) -> list[str]:
    return sorted({m for team in s.config("teams.yaml")["teams"].values() for m in team.get("members", [])})


@contextlib.contextmanager
def fresh(run: harness.Run, name: str) -> Iterator[harness.Scenario]:
    workdir = run.dir / name
    bins = {
        "etcd": run.bins["etcd"] / "bin" / "etcd",
        "kube-apiserver": run.bins["kubernetes"] / "bin" / "kube-apiserver",
        "kube-controller-manager": run.bins["kubernetes"] / "bin" / "kube-controller-manager",
    }
    with servers.cluster(bins, workdir / "cluster") as cluster:
        s = harness.Scenario(run, name, cluster, workdir)
        s.seed_aws(users_in(s))
        s.login_and_init()
        yield s


def parse_map_roles(text: str) -> list[dict[str, Any]]:
    return yaml.safe_load(text) or []


def error_lines(output: str) -> list[str]:
    return [line.strip() for line in output.splitlines() if re.match(r"^\s*error:", line)]


def no_traceback(output: str) -> None:
    assert "Traceback" not in output, output[-4000:]
    assert 'File "' not in output, output[-4000:]


class Findings:
    """Expectations of the issue's spec checked without stopping the scenario, so that one run reports every way the
    program differs from its spec (hard asserts stay for preconditions); the test fails at the end if any."""

    def __init__(self) -> None:
        self.failed: list[str] = []

    def check(self, ok: bool, message: str) -> bool:
        if not ok:
            self.failed.append(message)
        return ok

    def one_error_line(self, result: harness.Result, want: str, what: str) -> None:
        errors = error_lines(result.output)
        self.check(want in errors, f"{what}: the line {want!r} is not among the errors {errors}")
        self.check(errors == [want], f"{what}: want exactly one error line, the engine printed {len(errors)}: {errors}")

    def done(self) -> None:
        assert not self.failed, "\n".join(["the program differs from the spec:", *self.failed])


def state_of(s: harness.Scenario) -> dict[str, dict[str, Any]]:
    return {r["urn"]: r for r in s.resources()}


def by_type(state: dict[str, dict[str, Any]], type_: str) -> list[dict[str, Any]]:
    return [r for r in state.values() if r["type"] == type_]


def manifests(plan: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {r["id"]: r["manifest"] for r in plan["rbac"] if r["manifest"]["kind"] == kind}


def live_path(manifest: dict[str, Any]) -> str:
    kind, meta = manifest["kind"], manifest["metadata"]
    plural = {
        "Namespace": "namespaces",
        "ServiceAccount": "serviceaccounts",
        "Role": "roles",
        "RoleBinding": "rolebindings",
        "ClusterRole": "clusterroles",
        "ClusterRoleBinding": "clusterrolebindings",
    }
    base = "/api/v1" if kind in ("Namespace", "ServiceAccount") else RBAC
    ns = f"/namespaces/{meta['namespace']}" if meta.get("namespace") else ""
    return f"{base}{ns}/{plural[kind]}/{meta['name']}"


def assert_rbac_as_planned(s: harness.Scenario, plan: dict[str, Any]) -> None:
    """Every planned manifest exists on the cluster with the planned content."""
    for item in plan["rbac"]:
        m = item["manifest"]
        live = s.get(live_path(m))
        assert live is not None, f"{item['id']} is not on the cluster"
        for key, value in (m["metadata"].get("labels") or {}).items():
            assert live["metadata"].get("labels", {}).get(key) == value, (item["id"], key)
        for field in ("rules", "roleRef", "subjects"):
            if field in m:
                assert _norm(live.get(field)) == _norm(m[field]), (item["id"], field, live.get(field), m[field])


def _norm(value: Any) -> Any:
    """RBAC fields as compared by content: apiGroup defaults, list order of rules kept."""
    if isinstance(value, list):
        return [_norm(v) for v in value]
    if isinstance(value, dict):
        return {k: _norm(v) for k, v in value.items() if v not in (None, [], "")}
    return value


def outputs_keys_documented() -> set[str]:
    """The keys of the first table under "## Keys" in docs/outputs.md (later tables describe nested objects)."""
    lines = (harness.ROOT / "docs" / "outputs.md").read_text().split("## Keys", 1)[1].splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("|"))
    end = next((i for i in range(start, len(lines)) if not lines[i].startswith("|")), len(lines))
    return set(re.findall(r"^\| `([A-Za-z]+)` \|", "\n".join(lines[start:end]), re.M))


# ------------------------------------------------------------------------------------------------------------------
# The shared deployment: the dev stack, unchanged config, on a cluster that has no aws-auth yet.
# ------------------------------------------------------------------------------------------------------------------
class Deployment:
    def __init__(self, s: harness.Scenario, missing_read: harness.Result) -> None:
        self.s = s
        self.missing_read = missing_read  # preview with the default awsAuthExists (true) on a cluster without aws-auth
        self.plan = s.plan()
        self.up = s.up()


@pytest.fixture(scope="module")
def deployed(e2e_run: harness.Run) -> Iterator[Deployment]:
    with fresh(e2e_run, "shared-dev") as s:
        # The live aws-auth read fails closed: with the default awsAuthExists (true), a missing aws-auth stops the
        # preview (docs/kubernetes.md) ...
        missing = s.preview()
        # ... and an empty cluster's first run is the documented `access:awsAuthExists: false`.
        s.write_stack_file({"access:awsAuthExists": False})
        yield Deployment(s, missing)


@pytest.mark.scenario(1, "up on an empty cluster")
def test_1_up_on_an_empty_cluster(deployed: Deployment) -> None:
    s, plan, up = deployed.s, deployed.plan, deployed.up
    missing = deployed.missing_read
    assert missing.code != 0, f"a missing aws-auth did not stop the preview:\n{missing}"
    assert "resource 'kube-system/aws-auth' does not exist" in missing.output, str(missing)
    no_traceback(missing.output)
    assert up.code == 0, str(up)
    no_traceback(up.output)

    # aws-auth created, its mapRoles exactly the plan's, node roles first, owned by this stack
    cm = s.aws_auth()
    assert cm is not None, "kube-system/aws-auth was not created"
    assert cm["data"]["mapRoles"] == plan["mapRoles"]
    entries = parse_map_roles(cm["data"]["mapRoles"])
    assert [e["rolearn"] for e in entries[: len(NODE_ROLES)]] == NODE_ROLES
    assert entries[0]["groups"] == ["system:bootstrappers", "system:nodes"]
    assert cm["metadata"]["annotations"]["eks-access/owner"] == "eks-access/dev"
    managed = json.loads(cm["metadata"]["annotations"]["eks-access/managed-arns"])
    assert {e["rolearn"].lower() for e in entries} == set(managed)
    assert "pulumi.com/patchForce" not in cm["metadata"]["annotations"]  # awsAuthExists false: not forced
    # written by server-side apply with the provider's field manager: only the fields eks-access sets
    owners = {f["manager"] for f in cm["metadata"].get("managedFields", [])}
    assert owners, cm["metadata"]
    assert "mapUsers" not in cm["data"]

    # the authenticator's parser maps the node roles as nodes
    mapped = s.map_identities(["arn:aws:sts::111122223333:assumed-role/eks-dev-nodes/i-0123456789abcdef0"])
    assert mapped["parse_error"] == "" if "parse_error" in mapped else True
    assert mapped["identities"][0]["groups"] == ["system:bootstrappers", "system:nodes"]

    # namespaces, Roles, bindings, service accounts exactly as the plan says
    assert_rbac_as_planned(s, plan)
    planned_ns = {m["metadata"]["name"] for m in manifests(plan, "Namespace").values()}
    assert planned_ns <= s.names("/api/v1/namespaces")

    # stack state: one resource per planned resource, with the documented options
    state = state_of(s)
    counts: dict[str, int] = {}
    for r in state.values():
        counts[r["type"]] = counts.get(r["type"], 0) + 1
    for type_, n in plan["resources"].items():
        if type_.startswith("pulumi:providers:"):
            continue
        assert counts.get(type_) == n, (type_, counts.get(type_), n)
    patch = by_type(state, PATCH)[0]
    assert patch.get("retainOnDelete") is True
    role_urns = {r["urn"] for r in by_type(state, ROLE)}
    # Written right after its live read (issue 12): waiting for the roles would widen the read-write window.
    assert not role_urns & set(patch.get("dependencies", [])), "aws-auth must not wait for the IAM roles"
    for ns in by_type(state, NS_PATCH):
        assert ns.get("retainOnDelete") is True, ns["urn"]
    ns_urns = {r["outputs"]["metadata"]["name"]: r["urn"] for r in by_type(state, NS_PATCH)}
    for r in state.values():
        if r["type"].startswith("kubernetes:rbac") and "namespace" in (r.get("inputs", {}).get("metadata") or {}):
            ns = r["inputs"]["metadata"]["namespace"]
            assert ns_urns[ns] in r.get("dependencies", []), f"{r['urn']} does not wait for namespace {ns}"
    bindings = [r for r in state.values() if r["type"].endswith("RoleBinding")]
    # (deleteBeforeReplace is an engine option the state does not record; scenario 4 exercises replacements)
    assert bindings and all(b.get("replaceOnChanges") == ["roleRef"] for b in bindings)

    # IAM in moto: the roles with the planned trust policies, groups, inline policies, memberships
    for role in plan["roles"]:
        live = s.iam.get_role(RoleName=role["name"])["Role"]
        assert live["Arn"] == role["arn"]
        assert live["AssumeRolePolicyDocument"] == role["trustPolicy"]
    for gp in plan["groupPolicies"]:
        doc = s.iam.get_group_policy(GroupName=gp["group"], PolicyName=gp["policyName"])["PolicyDocument"]
        assert doc == gp["document"]
    for m in plan["memberships"]:
        groups = {g["GroupName"] for g in s.iam.list_groups_for_user(UserName=m["user"])["Groups"]}
        assert set(m["groups"]) <= groups

    # the Kubernetes provider reached the cluster through the kubeconfig the program builds (aws eks get-token)
    calls = [json.loads(line) for line in s.aws_calls.read_text().splitlines()]
    assert calls and all("get-token" in c and "eks-dev" in c and "eu-west-1" in c for c in calls), calls[:3]

    # stack outputs as docs/outputs.md says: every documented key, values as planned, the real endpoint and CA
    outputs = s.outputs()
    assert set(outputs) == outputs_keys_documented()
    assert set(outputs) == set(plan["outputs"])
    real = {"endpoint": s.cluster.endpoint, "certificateAuthorityData": s.cluster.ca_data}
    for key, value in plan["outputs"].items():
        if key in ("kubeconfigs", "cluster"):
            continue
        assert outputs[key] == value, key
    assert outputs["mapRoles"] == cm["data"]["mapRoles"]
    assert outputs["cluster"] == {**plan["outputs"]["cluster"], **real}
    for project, levels in outputs["kubeconfigs"].items():  # outputs version 2: project -> level -> object
        for level, kc in levels.items():
            assert kc == {**plan["outputs"]["kubeconfigs"][project][level], **real}, (project, level)
    assert all(v not in (None,) for v in outputs.values())

    # converged: a second preview with the same settings plans nothing
    again = s.preview("--expect-no-changes")
    assert again.code == 0, str(again)


def _check_service_accounts(s: harness.Scenario, rows: list[harness.AccessRow], namespaces: list[str]) -> None:
    """A CI ServiceAccount's token: the authorizer's rules for its username and groups are the plan's."""
    by_user: dict[str, list[harness.AccessRow]] = {}
    for row in rows:
        by_user.setdefault(row.username, []).append(row)
    baseline = _rules_of(s.rules_review("e2e-nobody", (), "default"))
    for username, id_rows in by_user.items():
        groups = id_rows[0].groups
        for ns in namespaces:
            expected = {t for row in id_rows if row.namespace in ("*", ns) for t in row.rules}
            granted = _rules_of(s.rules_review(username, groups, ns)) - baseline
            assert granted == expected, (username, ns, sorted(granted ^ expected))


@pytest.mark.scenario(3, "authorizer == plan matrix")
def test_3_authorizer_matches_the_plan(deployed: Deployment) -> None:
    s, plan = deployed.s, deployed.plan
    assert deployed.up.code == 0, "the shared deployment failed (scenario 1)"
    rows = harness.effective_access(plan)
    assert rows, "the plan has no effective-access rows"
    namespaces = sorted({m["metadata"]["name"] for m in manifests(plan, "Namespace").values()})
    # one identity per (role, session): the role session ARN the person or machine presents to the authenticator;
    # a mapping that names the principal's own role (break-glass) is reached by a session of that role.
    # ServiceAccounts authenticate with their tokens, not through aws-auth: checked by their own identity below.
    identities: dict[str, list[harness.AccessRow]] = {}
    accounts = [row for row in rows if row.via == "service account token"]
    for row in rows:
        if row in accounts:
            continue
        role = row.role or row.principal.split(" ")[0].rsplit("/", 1)[-1]
        arn = f"arn:aws:sts::{plan['accountId']}:assumed-role/{role}/{harness.session_name(row)}"
        identities.setdefault(arn, []).append(row)
    _check_service_accounts(s, accounts, namespaces)
    mapped = s.map_identities(list(identities))
    assert not mapped.get("parse_error"), mapped["parse_error"]
    baseline = _rules_of(s.rules_review("e2e-nobody", (), "default"))  # what every authenticated user has
    checked = 0
    for (_arn, id_rows), ident in zip(identities.items(), mapped["identities"], strict=True):
        who = f"{id_rows[0].principal} via {id_rows[0].role}"
        assert not ident.get("error"), f"{who}: the authenticator maps nothing: {ident}"
        for row in id_rows:
            assert ident["username"] == harness.expected_username(row), who
            assert tuple(ident["groups"]) == row.groups, who
        username, groups = ident["username"], tuple(ident["groups"])
        for ns in namespaces:
            expected = {t for row in id_rows if row.namespace in ("*", ns) for t in row.rules}
            # the whole rule set the authorizer gives in the namespace (what `kubectl auth can-i --list` shows),
            # minus what every authenticated user has, equals the plan's rules there (none outside its namespaces)
            granted = _rules_of(s.rules_review(username, groups, ns)) - baseline
            assert granted == expected, (
                who,
                ns,
                "authorizer-only:",
                sorted(granted - expected),
                "plan-only:",
                sorted(expected - granted),
            )
            # and each permission, asked one by one (SubjectAccessReview), plus sensitive ones it must not have
            for group, resource, verb in sorted(expected):
                if "*" in (group, resource, verb):
                    continue
                assert s.can(username, groups, ns, group, resource, verb), (who, ns, group, resource, verb)
                checked += 1
            for group, resource, verb in SENSITIVE:
                if not _allows(tuple(expected), group, resource, verb):
                    assert not s.can(username, groups, ns, group, resource, verb), (who, ns, group, resource, verb)
                    checked += 1
        for row in id_rows:
            if row.namespace != "*":
                listing = s.can_i_list(username, groups, row.namespace)
                assert listing.code == 0 and "pods" in listing.stdout, str(listing)
    assert checked > 50, checked


SENSITIVE = [
    ("", "secrets", "get"),
    ("", "secrets", "list"),
    ("", "pods/exec", "create"),
    ("rbac.authorization.k8s.io", "roles", "escalate"),
    ("rbac.authorization.k8s.io", "rolebindings", "create"),
    ("", "nodes", "delete"),
    ("", "namespaces", "delete"),
    ("", "configmaps", "update"),
]


def _rules_of(status: dict[str, Any]) -> set[tuple[str, str, str]]:
    """Rules as (group, resource, verb); a rule limited by resourceNames as ``resource[name,...]``, as the plan's
    matrix writes it (the CI deployer's own ServiceAccount token)."""
    out = set()
    for rule in status.get("resourceRules", []):
        names = sorted(rule.get("resourceNames") or [])
        for g in rule.get("apiGroups", [""]):
            for r in rule.get("resources", []):
                for v in rule.get("verbs", []):
                    out.add((g, f"{r}[{','.join(names)}]" if names else r, v))
    return out


def _allows(rules: tuple[tuple[str, str, str], ...], group: str, resource: str, verb: str) -> bool:
    return any(g in ("*", group) and r in ("*", resource) and v in ("*", verb) for g, r, v in rules)


@pytest.mark.scenario(6, "policy pack and preview_guard for real")
def test_6_policy_pack_and_preview_guard(deployed: Deployment) -> None:
    s = deployed.s
    assert deployed.up.code == 0, "the shared deployment failed (scenario 1)"
    # the pack runs for real and passes on the reviewed config
    ok = s.preview("--policy-pack", "policy")
    assert ok.code == 0, str(ok)
    assert "eks-access-guardrails" in ok.output, ok.output[-3000:]
    # and enforces: read with a config whose admin group is another one, the cluster-admin binding violates it
    other = s.dir / "other-config"
    shutil.copytree(s.project / "config", other)
    settings = yaml.safe_load((other / "settings.yaml").read_text()) or {}
    settings.setdefault("naming", {})["admin_group"] = "eks-access:other-admins"
    (other / "settings.yaml").write_text(yaml.safe_dump(settings))
    bad = s.sh(
        ["pulumi", "preview", "-s", s.stack, "--policy-pack", "policy", "--non-interactive"],
        env={"EKS_ACCESS_CONFIG_DIR": str(other)},
    )
    assert bad.code != 0, str(bad)
    assert "cluster-admin-only-for-admin-group" in bad.output, bad.output[-3000:]
    assert "eks-access:cluster-admins" in bad.output

    # preview_guard on the real `pulumi preview --json`: nothing destructive now
    clean = s.pulumi("preview", "--json", "-s", s.stack)
    assert clean.code == 0, str(clean)
    (s.dir / "preview-clean.json").write_text(clean.stdout)
    guard = s.sh(
        [str(harness.PYTHON), "-m", "access", "preview-guard", str(s.dir / "preview-clean.json"), "--stack", s.stack]
    )
    assert guard.code == 0, str(guard)
    # a role path change replaces every IAM role: refused without the label, allowed with --allow
    settings = s.config("settings.yaml")
    settings["roles"]["path"] = "/eks-access/"
    s.write_config("settings.yaml", settings)
    try:
        moved = s.pulumi("preview", "--json", "-s", s.stack)
        assert moved.code == 0, str(moved)
        steps = json.loads(moved.stdout).get("steps", [])
        replaced = {
            st["urn"].split("::")[-1]
            for st in steps
            if st.get("op") in ("replace", "delete-replaced", "create-replacement")
        }
        assert any("humans" in u for u in replaced), replaced
        (s.dir / "preview-moved.json").write_text(moved.stdout)
        refused = s.sh(
            [
                str(harness.PYTHON),
                "-m",
                "access",
                "preview-guard",
                str(s.dir / "preview-moved.json"),
                "--stack",
                s.stack,
            ]
        )
        assert refused.code == 1, str(refused)
        assert "projecta-dev-humans" in refused.output and "path" in refused.output, refused.output
        allowed = s.sh(
            [
                str(harness.PYTHON),
                "-m",
                "access",
                "preview-guard",
                str(s.dir / "preview-moved.json"),
                "--stack",
                s.stack,
                "--allow",
            ]
        )
        assert allowed.code == 0, str(allowed)
    finally:
        settings["roles"]["path"] = "/"
        s.write_config("settings.yaml", settings)


@pytest.mark.scenario(7, "bad config: one line, nothing applied")
def test_7_bad_config_under_the_real_engine(deployed: Deployment) -> None:
    s = deployed.s
    assert deployed.up.code == 0, "the shared deployment failed (scenario 1)"
    before_state = s.export()["deployment"].get("resources", [])
    before_cm = s.aws_auth()
    access = s.config("access.yaml")
    original = json.loads(json.dumps(access))
    access["grants"]["payments"]["projecta"]["qa"] = "operate"  # the README's example of bad config
    s.write_config("access.yaml", access)
    try:
        plan = s.sh([str(harness.PYTHON), "-m", "access", "plan", "--stack", s.stack])
        assert plan.code == 2, str(plan)
        expected = plan.stderr.strip().splitlines()[-1].removeprefix("error: ")
        assert expected.startswith("config/access.yaml: grants.payments.projecta.qa"), plan.stderr
        findings = Findings()
        for what, run in (("preview", s.preview()), ("up", s.up())):
            assert run.code != 0, str(run)
            no_traceback(run.output)
            findings.one_error_line(run, f"error: {expected}", f"pulumi {what} with bad config")
        after_state = s.export()["deployment"].get("resources", [])
        assert [r["urn"] for r in after_state] == [r["urn"] for r in before_state]
        assert [r.get("outputs") for r in after_state] == [r.get("outputs") for r in before_state]
        after_cm = s.aws_auth()
        assert after_cm is not None and before_cm is not None
        assert after_cm["metadata"]["resourceVersion"] == before_cm["metadata"]["resourceVersion"]
        findings.done()
    finally:
        s.write_config("access.yaml", original)


@pytest.mark.scenario(8, "each level's commands, as kubectl auth can-i answers them")
def test_8_levels_allow_and_refuse_the_commands_docs_levels_md_lists(deployed: Deployment) -> None:
    """docs/levels.md, asked of the real API server: for each level bound in the deployment, every request of every
    command (access/core/workflows.py) as the bound group, through SubjectAccessReview, plus one `kubectl auth
    can-i` per command as a person would type it; the answer must be the page's."""
    from access.core import workflows

    s, plan = deployed.s, deployed.plan
    assert deployed.up.code == 0, "the shared deployment failed (scenario 1)"
    bindings = [m for m in manifests(plan, "RoleBinding").values() if m["metadata"]["labels"].get("eks-access/level")]
    checked: set[str] = set()
    for binding in bindings:
        ns = binding["metadata"]["namespace"]
        level = binding["metadata"]["labels"]["eks-access/level"]
        groups = tuple(x["name"] for x in binding["subjects"] if x["kind"] == "Group")
        name = binding["metadata"]["name"]
        ci = name.split(":")[2] if name.startswith("eks-access:ci:") else ""  # eks-access:ci:<id>[:deploy]
        has_sa = any(x["kind"] == "ServiceAccount" for x in binding["subjects"])
        column = workflows.CI_COLUMN if ci and has_sa else level
        if column not in workflows.level_permissions() or not groups:
            continue
        granted = workflows.level_permissions(ns)[column]
        elsewhere = "e2e-elsewhere"  # a namespace nothing is bound in (a CI deployer is bound in several)
        for command in workflows.COMMANDS:
            expected = workflows.works(command, granted, ns)
            answers = []
            for request in command.requests:
                name = f"{ci}-deployer" if request.name == workflows.CI_SERVICE_ACCOUNT else request.name
                where = {workflows.NAMESPACE: ns, workflows.OTHER_NAMESPACE: elsewhere}.get(request.namespace)
                resource = request.plain_resource + (f"[{name}]" if name else "")
                answers.append(s.can(f"e2e-{column}", groups, where, request.api_group, resource, request.verb))
            assert all(answers) == expected, (column, ns, command.text, command.requests, answers)
            first = command.requests[0]
            if first.namespace == workflows.NAMESPACE and not first.name:
                can_i = s.sh(
                    [
                        "kubectl",
                        "--kubeconfig",
                        str(s.kubeconfig),
                        "auth",
                        "can-i",
                        *first.can_i().split(),
                        "-n",
                        ns,
                        "--as",
                        f"e2e-{column}",
                        *[f"--as-group={g}" for g in groups],
                    ]
                )
                assert can_i.stdout.strip() == ("yes" if answers[0] else "no"), (column, command.text, str(can_i))
        checked.add(column)
    assert {"operate", workflows.CI_COLUMN} <= checked, checked


@pytest.mark.scenario(4, "level change, removed project, destroy")
def test_4_level_change_removed_project_destroy(deployed: Deployment) -> None:
    s = deployed.s
    assert deployed.up.code == 0, "the shared deployment failed (scenario 1)"
    # From here on the stack reads the live aws-auth it wrote (the documented second step).
    s.write_stack_file({"access:awsAuthExists": True})

    # (a) a level change: payments' projecta-dev goes from operate to view. The binding name carries the level
    # (roleRef is immutable), so the engine deletes the old binding and creates the new one; nothing fails.
    access = s.config("access.yaml")
    access["grants"]["payments"]["projecta"]["dev"] = "view"
    s.write_config("access.yaml", access)
    plan = s.plan()
    preview = s.pulumi("preview", "--json", "-s", s.stack)
    assert preview.code == 0, str(preview)
    steps = {st["urn"].split("::")[-1]: st["op"] for st in json.loads(preview.stdout).get("steps", [])}
    assert steps.get("dev-rolebinding/projecta-dev/eks-access:humans:operate") == "delete", steps
    assert steps.get("dev-rolebinding/projecta-dev/eks-access:humans:view") == "create", steps
    # the new binding exists before the old one goes: no moment without access
    order = [st["urn"].split("::")[-1] for st in json.loads(preview.stdout).get("steps", [])]
    assert order.index("dev-rolebinding/projecta-dev/eks-access:humans:view") < order.index(
        "dev-rolebinding/projecta-dev/eks-access:humans:operate"
    ), order
    up = s.up()
    assert up.code == 0, str(up)
    ns = "/apis/rbac.authorization.k8s.io/v1/namespaces/projecta-dev"
    assert s.get(f"{ns}/rolebindings/eks-access:humans:operate") is None
    view = s.get(f"{ns}/rolebindings/eks-access:humans:view")
    assert view is not None and view["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "ClusterRole",
        "name": "eks-access:dev:view",
    }
    assert_rbac_as_planned(s, plan)

    # (a2) a roleRef change on the same binding (replaceOnChanges roleRef + deleteBeforeReplace): the program
    # never produces one from config (the level is in the name); the IAM path change below is the replacement
    # that reuses a unique name, and must delete first (IAM role names are unique).
    settings = s.config("settings.yaml")
    settings["roles"]["path"] = "/eks-access/"
    s.write_config("settings.yaml", settings)
    moved = s.up()
    assert moved.code == 0, str(moved)
    live = s.iam.get_role(RoleName="projecta-dev-humans")["Role"]
    assert live["Path"] == "/eks-access/"
    cm = s.aws_auth()
    assert cm is not None
    arns = [e["rolearn"] for e in parse_map_roles(cm["data"]["mapRoles"])]
    assert "arn:aws:iam::111122223333:role/projecta-dev-humans" in arns  # mapRoles without the path
    assert [a for a in arns[:2]] == NODE_ROLES

    # (b) a removed project: its namespace stays (retained), its Roles, bindings and service account go
    projects = s.config("projects.yaml")
    del projects["projects"]["projectb"]
    s.write_config("projects.yaml", projects)
    access = s.config("access.yaml")
    del access["grants"]["search"]
    for ci in access.get("ci", {}).values():
        ci.get("deploys", {}).pop("projectb", None)
    s.write_config("access.yaml", access)
    removed = s.up()
    assert removed.code == 0, str(removed)
    assert s.get("/api/v1/namespaces/projectb-dev") is not None, "the removed project's namespace was deleted"
    rb = s.get("/apis/rbac.authorization.k8s.io/v1/namespaces/projectb-dev/rolebindings") or {}
    roles = s.get("/apis/rbac.authorization.k8s.io/v1/namespaces/projectb-dev/roles") or {}
    assert not [i["metadata"]["name"] for i in rb.get("items", []) if i["metadata"]["name"].startswith("eks-access")]
    assert not [i["metadata"]["name"] for i in roles.get("items", []) if i["metadata"]["name"].startswith("eks-access")]
    state = state_of(s)
    assert not [u for u in state if "projectb" in u], [u for u in state if "projectb" in u]
    cm = s.aws_auth()
    assert cm is not None and "projectb-dev-humans" not in cm["data"]["mapRoles"]

    # (c) destroy: aws-auth stays with the node entries, namespaces stay, everything else managed goes
    destroyed = s.pulumi("destroy", "--yes", "--skip-preview", "-s", s.stack)
    assert destroyed.code == 0, str(destroyed)
    cm = s.aws_auth()
    assert cm is not None, "pulumi destroy deleted kube-system/aws-auth"
    entries = parse_map_roles(cm["data"].get("mapRoles", ""))
    assert [e["rolearn"] for e in entries[: len(NODE_ROLES)]] == NODE_ROLES, cm["data"]
    mapped = s.map_identities(["arn:aws:sts::111122223333:assumed-role/eks-dev-nodes/i-0123456789abcdef0"])
    assert mapped["identities"][0]["groups"] == ["system:bootstrappers", "system:nodes"]
    for namespace in ("projecta-dev", "projectb-dev"):
        assert s.get(f"/api/v1/namespaces/{namespace}") is not None, f"destroy deleted namespace {namespace}"
    assert s.get("/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/eks-access:cluster-admins") is None
    assert not s.export()["deployment"].get("resources")


# ------------------------------------------------------------------------------------------------------------------
def _live_aws_auth(s: harness.Scenario, extra: list[dict[str, Any]]) -> None:
    """kube-system/aws-auth as EKS leaves it: the node role and a managed node group's role, written by EKS."""
    entries = [
        {
            "rolearn": NODE_ROLES[0],
            "username": "system:node:{{EC2PrivateDNSName}}",
            "groups": ["system:bootstrappers", "system:nodes"],
        },
        *extra,
    ]
    s.create(
        "/api/v1/namespaces/kube-system/configmaps?fieldManager=eks",
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "aws-auth", "namespace": "kube-system"},
            "data": {"mapRoles": yaml.safe_dump(entries, sort_keys=False)},
        },
    )


NODE_GROUP_ENTRY = {
    "rolearn": NODE_GROUP_ROLE,
    "username": "system:node:{{EC2PrivateDNSName}}",
    "groups": ["system:bootstrappers", "system:nodes"],
}


def _keep(s: harness.Scenario, arns: list[str]) -> None:
    env = s.config("environments.yaml")
    if arns:
        env["clusters"]["dev"]["keep_map_roles"] = arns
    else:
        env["clusters"]["dev"].pop("keep_map_roles", None)
    s.write_config("environments.yaml", env)


@pytest.mark.scenario(2, "live aws-auth with an EKS entry")
def test_2_live_aws_auth_with_an_eks_entry(e2e_run: harness.Run) -> None:
    with fresh(e2e_run, "s2-live-aws-auth") as s:
        _live_aws_auth(s, [NODE_GROUP_ENTRY])
        before = s.aws_auth()
        assert before is not None

        findings = Findings()
        # (a) the preview refuses with its one line, and nothing is written
        refused = s.preview()
        assert refused.code != 0, str(refused)
        no_traceback(refused.output)
        want = (
            f"error: eks-dev: live aws-auth mapRoles has entries eks-access did not write and config does not "
            f"list: {NODE_GROUP_ROLE}; list them in the cluster's node_roles or under clusters.dev.keep_map_roles "
            f"in config/environments.yaml (EKS adds node-group roles itself)"
        )
        findings.one_error_line(refused, want, "preview on a live aws-auth with an unknown entry")
        after = s.aws_auth()
        assert after is not None and after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]

        # (b) listed under keep_map_roles: up keeps it, verbatim, right after the node roles, still mapped as a node
        _keep(s, [NODE_GROUP_ROLE])
        up = s.up()
        assert up.code == 0, str(up)
        cm = s.aws_auth()
        assert cm is not None
        entries = parse_map_roles(cm["data"]["mapRoles"])
        assert [e["rolearn"] for e in entries[:3]] == [*NODE_ROLES, NODE_GROUP_ROLE], entries[:4]
        assert entries[2] == NODE_GROUP_ENTRY
        assert cm["metadata"]["annotations"].get("pulumi.com/patchForce") == "true"
        mapped = s.map_identities(["arn:aws:sts::111122223333:assumed-role/eks-dev-ng-2/i-0abc"])
        assert mapped["identities"][0]["groups"] == ["system:bootstrappers", "system:nodes"], mapped

        # (c) removing it from keep_map_roles again: the node group's role would leave aws-auth and its nodes the
        # cluster (the lockout issue). Refused, or it requires an explicit retirement; never silently applied.
        _keep(s, [])
        again = s.preview()
        up2 = s.up() if again.code == 0 else None
        cm = s.aws_auth()
        assert cm is not None
        still = [e["rolearn"] for e in parse_map_roles(cm["data"]["mapRoles"])]
        findings.check(
            NODE_GROUP_ROLE in still,
            (
                "removing an EKS-added node-group role from keep_map_roles is applied without any refusal: "
                f"preview exit {again.code}, up exit {up2.code if up2 else '-'}, and the live aws-auth no longer maps "
                f"{NODE_GROUP_ROLE} (its nodes are locked out)"
            ),
        )
        if findings.check(again.code != 0, "the preview after removing it from keep_map_roles does not refuse"):
            no_traceback(again.output)
            findings.check(
                any(NODE_GROUP_ROLE in line for line in error_lines(again.output)),
                f"the refusal does not name {NODE_GROUP_ROLE}",
            )
        findings.done()


@pytest.mark.scenario(5, "existing namespace adopted")
def test_5_existing_namespace_is_adopted(e2e_run: harness.Run) -> None:
    with fresh(e2e_run, "s5-adopt-namespace") as s:
        s.write_stack_file({"access:awsAuthExists": False})
        ns = s.create(
            "/api/v1/namespaces?fieldManager=kubectl",
            {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {
                    "name": "projecta-dev",
                    "labels": {"team-owned": "payments"},
                    "annotations": {"owner": "payments-team"},
                },
            },
        )
        workload = {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "legacy-app", "namespace": "projecta-dev"},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": {"app": "legacy"}},
                "template": {
                    "metadata": {"labels": {"app": "legacy"}},
                    "spec": {"containers": [{"name": "app", "image": "registry.invalid/app:1"}]},
                },
            },
        }
        dep = s.create("/apis/apps/v1/namespaces/projecta-dev/deployments?fieldManager=kubectl", workload)
        cfg = s.create(
            "/api/v1/namespaces/projecta-dev/configmaps?fieldManager=kubectl",
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "app-settings", "namespace": "projecta-dev"},
                "data": {"k": "v"},
            },
        )
        hand_rb = s.create(
            f"{RBAC}/namespaces/projecta-dev/rolebindings?fieldManager=kubectl",
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "RoleBinding",
                "metadata": {"name": "hand-made", "namespace": "projecta-dev"},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
                "subjects": [{"kind": "Group", "name": "payments-oncall", "apiGroup": "rbac.authorization.k8s.io"}],
            },
        )
        plan = s.plan()

        def unchanged() -> None:
            live_ns = s.get("/api/v1/namespaces/projecta-dev")
            assert live_ns is not None and live_ns["metadata"]["uid"] == ns["metadata"]["uid"], "namespace recreated"
            assert live_ns["metadata"]["labels"]["team-owned"] == "payments"
            assert live_ns["metadata"]["annotations"]["owner"] == "payments-team"
            for path, obj in (
                ("/apis/apps/v1/namespaces/projecta-dev/deployments/legacy-app", dep),
                ("/api/v1/namespaces/projecta-dev/configmaps/app-settings", cfg),
                (f"{RBAC}/namespaces/projecta-dev/rolebindings/hand-made", hand_rb),
            ):
                live = s.get(path)
                assert live is not None, f"{path} was deleted"
                assert live["metadata"]["uid"] == obj["metadata"]["uid"], f"{path} was recreated"

        up = s.up()
        assert up.code == 0, str(up)
        unchanged()
        live_ns = s.get("/api/v1/namespaces/projecta-dev")
        assert live_ns is not None
        planned_labels = manifests(plan, "Namespace")["Namespace/projecta-dev"]["metadata"]["labels"]
        for key, value in planned_labels.items():
            assert live_ns["metadata"]["labels"].get(key) == value, key  # adopted: eks-access's labels added
        assert_rbac_as_planned(s, plan)
        patches = [
            r
            for r in state_of(s).values()
            if r["type"] == NS_PATCH and r["outputs"]["metadata"]["name"] == "projecta-dev"
        ]
        assert len(patches) == 1 and patches[0].get("retainOnDelete") is True

        destroyed = s.pulumi("destroy", "--yes", "--skip-preview", "-s", s.stack)
        assert destroyed.code == 0, str(destroyed)
        unchanged()


def test_e2e_components_reported(e2e_run: harness.Run) -> None:
    """Not a scenario: print what the run used (versions and sources), for the log."""
    for name, source in e2e_run.versions.items():
        print(f"{name}: {source}")
    assert e2e_run.versions


_ = Path  # keep the import for type hints in helpers above
