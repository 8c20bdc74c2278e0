# SPDX-License-Identifier: GPL-3.0-or-later
"""Audit rules for Docker (_auditd): planned from the catalogue on facts captured from real hosts, and the manager
run against a stand-in kernel (FakeOps), never this machine's: unit tests must not load audit rules here."""

from __future__ import annotations

import typing as t

import pytest
from cis_replay import facts_of, load

from ansible_collections.dockguard.hardening.plugins.module_utils import _auditd as ad
from ansible_collections.dockguard.hardening.plugins.module_utils._cis import audit
from ansible_collections.dockguard.hardening.plugins.module_utils._cis import catalogue as cat

Data = dict[str, t.Any]
STOCK = "deb12-stock"


def debian_runc(data: Data) -> Data:
    """What a Debian host has and the capture did not record: /usr/bin/runc -> ../sbin/runc."""
    data["readlink"]["/usr/bin/runc"] = "../sbin/runc"
    data["stat"]["/usr/sbin/runc"] = {**data["stat"]["/usr/bin/runc"], "path": "/usr/sbin/runc", "kind": "file"}
    return data


def plan_of(data: Data, controls: t.Sequence[str] = (), perms: str = "wa") -> ad.Plan:
    return ad.plan(facts_of(data), ad.select(list(controls)), "docker", perms)


# -- the plan agrees with the audit ------------------------------------------------------------------


@pytest.mark.parametrize("host", ["deb12-stock", "deb13-stock-planted", "deb12-hardened"])
def test_loaded_plan_passes_every_audit_control_it_serves_and_skips_exactly_the_rest(host: str) -> None:
    """The rules the module writes, listed back by auditctl, pass the audit's 1.1.x checks; the controls the audit
    finds not applicable are exactly the ones skipped. One resolution (checks_1_host.audit_path) for both."""
    data = debian_runc(load(host))
    p = plan_of(data)
    data["run"]["auditctl -l"] = [0, "\n".join(r.line() for r in p.rules) + "\n", ""]
    ids = [c.id for c in ad.audit_controls()]
    results = {r["id"]: r for r in audit.run(facts_of(data), controls=ids)["results"]}
    served = {i for r in p.rules for i in r.controls}
    skipped = {s.control for s in p.skipped}
    assert served | skipped == set(ids) and not served & skipped
    assert {i for i, r in results.items() if r["status"] == "pass"} == served, results
    assert {i for i, r in results.items() if r["status"] == "not_applicable"} == skipped


def test_without_the_rules_the_same_controls_fail() -> None:
    data = debian_runc(load(STOCK))
    served = {i for r in plan_of(data).rules for i in r.controls}
    ids = [c.id for c in ad.audit_controls()]
    results = audit.run(facts_of(data), controls=ids)["results"]
    assert {r["id"] for r in results if r["status"] == "fail"} == served


def test_stock_debian12_rules() -> None:
    p = plan_of(debian_runc(load(STOCK)))
    lines = {r.line(): r.controls for r in p.rules}
    assert lines == {
        "-w /usr/sbin/dockerd -p wxa -k docker": ("1.1.3",),
        "-a always,exit -F path=/run/containerd -F perm=rwa -k docker": ("1.1.4",),
        "-w /var/lib/docker -p wa -k docker": ("1.1.5",),
        "-w /etc/docker -p wa -k docker": ("1.1.6",),
        "-w /lib/systemd/system/docker.service -p wa -k docker": ("1.1.7",),
        "-w /run/containerd/containerd.sock -p wa -k docker": ("1.1.8",),
        "-w /lib/systemd/system/docker.socket -p wa -k docker": ("1.1.9",),
        "-w /etc/default/docker -p wa -k docker": ("1.1.10",),
        "-w /etc/containerd/config.toml -p wa -k docker": ("1.1.12",),
        "-w /usr/bin/containerd -p wxa -k docker": ("1.1.14",),
        "-w /usr/bin/containerd-shim -p wxa -k docker": ("1.1.15",),
        "-w /usr/bin/containerd-shim-runc-v1 -p wxa -k docker": ("1.1.16",),
        "-w /usr/bin/containerd-shim-runc-v2 -p wxa -k docker": ("1.1.17",),
        "-w /usr/sbin/runc -p wxa -k docker": ("1.1.18",),
        "-w /usr/bin/runc -p wxa -k docker": ("1.1.18",),  # the link: replacing it is seen too
    }
    assert [(s.control, s.reason) for s in p.skipped] == [
        ("1.1.11", "/etc/docker/daemon.json does not exist on this host"),
        ("1.1.13", "/etc/sysconfig/docker does not exist on this host"),
    ]


def test_a_new_audit_control_in_the_catalogue_is_a_new_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    extra = cat.Control(
        id="1.1.99", slug="audit-test", level=2, scored=True, check="audit_rule", arg="/etc/default/docker", title="t"
    )
    monkeypatch.setattr(cat, "CONTROLS", (*cat.CONTROLS, extra))
    p = plan_of(load(STOCK))
    assert any(r.controls == ("1.1.10", "1.1.99") for r in p.rules)


def test_data_root_elsewhere_is_watched_where_it_is() -> None:
    data = load(STOCK)
    data["api"]["/info"]["DockerRootDir"] = "/srv/docker"
    data["stat"]["/srv/docker"] = {**data["stat"]["/var/lib/docker"], "path": "/srv/docker"}
    assert [r.line() for r in plan_of(data, ["1.1.5"]).rules] == ["-w /srv/docker -p wa -k docker"]


def test_daemon_down_watches_the_benchmark_data_root_and_warns() -> None:
    data = load(STOCK)
    data["api"] = {}
    p = plan_of(data, ["1.1.5", "1.1.3"])
    assert [r.line() for r in p.rules] == [
        "-w /usr/sbin/dockerd -p wxa -k docker",
        "-w /var/lib/docker -p wa -k docker",
    ]
    assert p.warnings and "1.1.5" in p.warnings[0] and "/var/lib/docker" in p.warnings[0]


def test_a_path_with_a_blank_is_refused_naming_the_control() -> None:
    data = load(STOCK)
    data["api"]["/info"]["DockerRootDir"] = "/srv/my docker"
    data["stat"]["/srv/my docker"] = {**data["stat"]["/var/lib/docker"], "path": "/srv/my docker"}
    with pytest.raises(ad.AuditRulesError, match=r"CIS 1.1.5: the path '/srv/my docker' has a blank"):
        plan_of(data, ["1.1.5"])


def test_render_names_controls_and_skips() -> None:
    p = plan_of(load(STOCK), ["1.1.3", "1.1.13"])
    assert ad.render(p, "docker") == (
        "## Written by dockguard.hardening.audit_rules from its CIS Docker Benchmark catalogue; changes here are\n"
        "## replaced on its next run. Search the events with: ausearch -k docker\n"
        "## CIS 1.1.3\n"
        "-w /usr/sbin/dockerd -p wxa -k docker\n"
        "## CIS 1.1.13 (/etc/sysconfig/docker) has no rule: /etc/sysconfig/docker does not exist on this host\n"
    )


# -- options -------------------------------------------------------------------------------------------


def test_select_by_id_and_slug() -> None:
    assert [c.id for c in ad.select(["audit-runc", "1.1.3"])] == ["1.1.3", "1.1.18"]
    assert len(ad.select([])) == 16


@pytest.mark.parametrize("ref", ["2.2", "1.1.2", "/etc/shadow", "icc-disabled"])
def test_controls_outside_the_audit_rules_are_refused(ref: str) -> None:
    with pytest.raises(ad.AuditRulesError, match=rf"controls=\['{ref}'\]: not audit rule controls"):
        ad.select([ref])


@pytest.mark.parametrize(
    ("key", "perms", "path", "message"),
    [
        ("has space", "wa", ad.DEFAULT_PATH, "key='has space'"),
        ("ids-x", "wa", ad.DEFAULT_PATH, "key='ids-x'"),
        ("k" * 64, "wa", ad.DEFAULT_PATH, "key="),
        ("docker", "", ad.DEFAULT_PATH, "permissions=''"),
        ("docker", "wz", ad.DEFAULT_PATH, "permissions='wz'"),
        ("docker", "wa", "/etc/audit/audit.rules", "path='/etc/audit/audit.rules'"),
        ("docker", "wa", "/etc/audit/rules.d/x.conf", "augenrules loads only"),
        ("docker", "wa", "/etc/audit/rules.d/sub/x.rules", "augenrules loads only"),
    ],
)
def test_bad_options_are_refused(key: str, perms: str, path: str, message: str) -> None:
    with pytest.raises(ad.AuditRulesError, match=message.replace("(", r"\(").replace("[", r"\[")):
        ad.check_options(key, perms, path)


def test_permissions_in_auditctl_order() -> None:
    assert ad.check_options("docker", "aw", ad.DEFAULT_PATH) == "wa"


# -- what the kernel says ----------------------------------------------------------------------------------


LISTING = """\
-w /usr/sbin/dockerd -p wxa -k docker
-a always,exit -S all -F path=/run/containerd -F perm=rwa -F key=docker
-w /etc/docker/ -p wa -k docker
-a always,exit -F arch=b64 -S execve -F key=exec
No rules
"""


def test_loaded_signatures_read_both_forms() -> None:
    assert ad.loaded_signatures(LISTING) == {
        ("/usr/sbin/dockerd", frozenset("wxa"), "docker"),
        ("/run/containerd", frozenset("rwa"), "docker"),
        ("/etc/docker", frozenset("wa"), "docker"),
    }


def test_missing_rules_compare_path_permissions_and_key() -> None:
    rules = [
        ad.Rule(("1.1.3",), "/usr/sbin/dockerd", "wxa", "docker"),
        ad.Rule(("1.1.6",), "/etc/docker", "wa", "other"),
        ad.Rule(("1.1.4",), "/run/containerd", "rwa", "docker", syscall=True),
    ]
    assert ad.missing_rules(rules, LISTING) == [rules[1]]


@pytest.mark.parametrize(
    ("status", "flag"),
    [("enabled 1\nfailure 1\npid 612\n", 1), ("enabled 2\n", 2), ("enabled 0\n", 0), ("garbage\n", None)],
)
def test_enabled_flag(status: str, flag: int | None) -> None:
    assert ad.enabled_flag(status) == flag


# -- never load from a container --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "markers", "reason"),
    [
        ((0, "docker\n", ""), (), "systemd-detect-virt --container says docker"),
        ((0, "podman\n", ""), (), "systemd-detect-virt --container says podman"),
        ((1, "none\n", ""), ("/.dockerenv",), "/.dockerenv exists"),
        ((127, "", "not found"), ("/run/.containerenv",), "/run/.containerenv exists"),
        ((1, "none\n", ""), (), None),
        ((127, "", "not found"), (), None),
    ],
)
def test_container_detection(answer: tuple[int, str, str], markers: tuple[str, ...], reason: str | None) -> None:
    asked = []

    def run(argv: list[str]) -> tuple[int, str, str]:
        asked.append(argv)
        return answer

    assert ad.container_reason(run, lambda p: p in markers) == reason
    assert asked == [["systemd-detect-virt", "--container"]]


# -- the manager against a stand-in kernel --------------------------------------------------------------------


class FakeOps:
    """Files in a dict, and a kernel whose rules augenrules loads from them (as augenrules concatenates)."""

    def __init__(self, container: bool = False, enabled: int = 1, kernel: str = "") -> None:
        self.files: dict[str, str] = {}
        self.kernel = kernel
        self.enabled = enabled
        self.container = container
        self.runs: list[str] = []
        self.writes: list[str] = []
        self.reject: str | None = None  # a rule line the kernel refuses
        self.drop: str | None = None  # a rule line that loads but is not listed (as if lost)

    def run(self, argv: list[str]) -> tuple[int, str, str]:
        self.runs.append(" ".join(argv))
        if argv[0] == "systemd-detect-virt":
            return (0, "docker\n", "") if self.container else (1, "none\n", "")
        if argv == ["auditctl", "-s"]:
            return 0, f"enabled {self.enabled}\nfailure 1\npid 612\n", ""
        if argv == ["auditctl", "-l"]:
            return 0, self.kernel or "No rules\n", ""
        if argv == ["augenrules", "--load"]:
            lines = [
                line
                for name in sorted(self.files)
                if name.startswith(ad.RULES_DIR + "/") and name.endswith(".rules")
                for line in self.files[name].splitlines()
                if line.strip() and not line.startswith("#")
            ]
            self.files["/etc/audit/audit.rules"] = "## generated\n" + "\n".join(lines) + "\n"
            loaded: list[str] = []
            for n, line in enumerate(lines, start=2):
                if line == self.reject:
                    self.kernel = "\n".join(loaded)
                    why = "Error sending add rule data request (Invalid argument)"
                    return 1, "", f"{why}\nThere was an error in line {n} of /etc/audit/audit.rules\n"
                if line != self.drop:
                    loaded.append(line)
            self.kernel = "\n".join(loaded) + "\n"
            return 0, "", ""
        raise AssertionError(argv)

    def exists(self, path: str) -> bool:
        return path in self.files

    def read(self, path: str) -> str | None:
        return self.files.get(path)

    def write(self, path: str, text: str, backup: bool) -> str | None:
        self.writes.append(path)
        self.files[path] = text
        return None

    def remove(self, path: str) -> bool:
        return self.files.pop(path, None) is not None


def manager(ops: FakeOps, check_mode: bool = False, **kw: t.Any) -> ad.AuditRules:
    opts = ad.Options(**{"controls": [], "key": "docker", "permissions": "wa", "path": ad.DEFAULT_PATH, "load": True,
                         "backup": False, **kw})  # fmt: skip
    return ad.AuditRules(ops, facts_of(debian_runc(load(STOCK))), opts, check_mode)


def test_write_load_verify_then_nothing_to_do() -> None:
    ops = FakeOps()
    first = manager(ops).run()
    assert first["changed"] and first["loaded"] and not first["reboot_required"]
    assert "skipped" not in first  # Ansible would show the task as skipped
    assert ops.runs == [
        "systemd-detect-virt --container",
        "auditctl -s",
        "auditctl -l",
        "augenrules --load",
        "auditctl -l",
    ]
    assert "-w /etc/docker -p wa -k docker" in ops.kernel
    ops.runs.clear()
    second = manager(ops).run()
    assert not second["changed"] and second["loaded"]
    assert "augenrules --load" not in ops.runs and ops.writes == [ad.DEFAULT_PATH]


def test_check_mode_predicts_and_touches_nothing() -> None:
    ops = FakeOps()
    predicted = manager(ops, check_mode=True).run()
    assert predicted["changed"] and predicted["loaded"]
    assert ops.files == {} and "augenrules --load" not in ops.runs
    assert predicted["diff"]["before"] == "" and "-w /etc/docker -p wa -k docker" in predicted["diff"]["after"]


def test_rules_lost_from_the_kernel_are_loaded_again() -> None:
    ops = FakeOps()
    manager(ops).run()
    ops.kernel = ""  # auditctl -D by someone
    again = manager(ops).run()
    assert again["changed"] and ops.writes == [ad.DEFAULT_PATH] and ops.runs.count("augenrules --load") == 2


def test_never_loaded_inside_a_container() -> None:
    """The test hosts are containers with CAP_AUDIT_CONTROL: a load there would change this machine's kernel."""
    ops = FakeOps(container=True)
    r = manager(ops).run()
    assert r["changed"] and not r["loaded"] and r["in_container"] == "systemd-detect-virt --container says docker"
    assert "loading it is the host's business" in r["load_skipped"]
    assert ops.runs == ["systemd-detect-virt --container"]  # no auditctl, no augenrules at all
    assert "-w /etc/docker -p wa -k docker" in ops.files[ad.DEFAULT_PATH]
    assert not manager(ops).run()["changed"]


def test_immutable_rules_written_not_loaded_reboot_required() -> None:
    ops = FakeOps(enabled=2)
    r = manager(ops).run()
    assert r["changed"] and r["reboot_required"] and not r["loaded"]
    assert "reboot" in r["load_skipped"] and "augenrules --load" not in ops.runs
    assert ad.DEFAULT_PATH in ops.files
    # loaded at the next boot: nothing left to do
    ops.kernel = "\n".join(x["rule"] for x in r["rules"])
    assert not manager(ops).run()["reboot_required"]


def test_load_false_writes_only() -> None:
    ops = FakeOps()
    r = manager(ops, load=False).run()
    assert r["changed"] and not r["loaded"] and ops.runs == ["systemd-detect-virt --container"]


def test_a_rejected_rule_is_named_and_the_previous_file_restored() -> None:
    ops = FakeOps()
    ops.files[ad.DEFAULT_PATH] = "-w /etc/docker -p wa -k docker\n"
    ops.reject = "-w /var/lib/docker -p wa -k docker"
    with pytest.raises(ad.AuditRulesError) as err:
        manager(ops).run()
    msg = err.value.msg
    assert "augenrules --load failed (rc=1): the rule '-w /var/lib/docker -p wa -k docker' for CIS 1.1.5" in msg
    assert "restored as it was and the previous rules reloaded" in msg
    assert ops.files[ad.DEFAULT_PATH] == "-w /etc/docker -p wa -k docker\n"
    assert ops.kernel == "-w /etc/docker -p wa -k docker\n"


def test_a_foreign_rule_that_fails_is_named_as_not_ours_and_a_new_file_removed() -> None:
    ops = FakeOps()
    ops.files[ad.RULES_DIR + "/10-site.rules"] = "-w /nonexistent/dir/x -p wa -k site\n"
    ops.reject = "-w /nonexistent/dir/x -p wa -k site"
    with pytest.raises(
        ad.AuditRulesError,
        match=r"'-w /nonexistent/dir/x -p wa -k site' \(line 2 of /etc/audit/audit.rules, not one of this module's\)",
    ):
        manager(ops).run()
    assert ad.DEFAULT_PATH not in ops.files


def test_a_rule_missing_after_the_load_rolls_back() -> None:
    ops = FakeOps()
    ops.drop = "-w /usr/sbin/runc -p wxa -k docker"
    with pytest.raises(
        ad.AuditRulesError, match=r"auditctl -l lacks -w /usr/sbin/runc -p wxa -k docker\. .*removed again"
    ):
        manager(ops).run()
    assert ad.DEFAULT_PATH not in ops.files


def test_no_auditd_says_install_it_and_writes_nothing() -> None:
    ops = FakeOps()

    def missing(argv: list[str]) -> tuple[int, str, str]:
        return (1, "none\n", "") if argv[0] == "systemd-detect-virt" else (127, "", f"{argv[0]}: command not found")

    ops.run = missing  # type: ignore[method-assign]
    with pytest.raises(ad.AuditRulesError, match="auditctl is not installed; install auditd"):
        manager(ops).run()
    assert ops.files == {}


def test_bad_options_change_nothing() -> None:
    ops = FakeOps()
    with pytest.raises(ad.AuditRulesError, match="controls="):
        manager(ops, controls=["/etc/shadow"]).run()
    assert ops.files == {} and ops.runs == []
