# SPDX-License-Identifier: GPL-3.0-or-later
"""_selinux's pure parts: configuration, lxc_contexts, semodule and restorecon output, the status."""

from __future__ import annotations

import pytest

from ansible_collections.dockguard.hardening.plugins.module_utils import _selinux as se

# Debian 12's /etc/selinux/default/contexts/lxc_contexts (selinux-policy-default), as seen in the VM
LXC = """\
process = "system_u:system_r:container_t:s0"
content = "system_u:object_r:virt_var_lib_t:s0"
file = "system_u:object_r:container_file_t:s0"
ro_file = "system_u:object_r:container_ro_file_t:s0"
sandbox_kvm_process = "system_u:system_r:svirt_qemu_net_t:s0"
"""


def test_config() -> None:
    text = "# comment\nSELINUX=permissive\nSELINUXTYPE=default\n\nbad line\n"
    assert se.parse_config(text) == {"SELINUX": "permissive", "SELINUXTYPE": "default"}


def test_lxc_contexts_give_the_container_labels() -> None:
    got = se.container_labels(se.parse_lxc_contexts(LXC), "default")
    assert got == {"process": "system_u:system_r:container_t:s0", "file": "system_u:object_r:container_file_t:s0"}


def test_a_policy_without_container_labels_is_refused() -> None:
    with pytest.raises(se.SELinuxError, match=r"gives no container labels \(file missing in /etc/selinux/mls/"):
        se.container_labels(se.parse_lxc_contexts('process = "a:b:c:s0"\n'), "mls")


@pytest.mark.parametrize(
    ("text", "expect"),
    [
        ("400 container pp\n100 base pp\n100 apache pp disabled\n", {"container": True, "base": True, "apache": False}),
        ("container\nbase\n", {"container": True, "base": True}),
        ("container 2.1 Disabled\n", {"container": False}),
        ("", {}),
    ],
)
def test_modules(text: str, expect: dict[str, bool]) -> None:
    assert se.parse_modules(text) == expect


def test_relabels_from_restorecon() -> None:
    out = (
        "Would relabel /var/lib/docker from system_u:object_r:unlabeled_t:s0 to "
        "system_u:object_r:container_var_lib_t:s0\n"
        "Relabeled /etc/docker from system_u:object_r:etc_t:s0 to system_u:object_r:container_config_t:s0\n"
        "something else\n"
    )
    got = se.parse_relabels(out)
    assert [r["path"] for r in got] == ["/var/lib/docker", "/etc/docker"]
    assert got[0]["to"] == "system_u:object_r:container_var_lib_t:s0"


@pytest.mark.parametrize(
    ("enforce", "expect"),
    [("1", (True, "enforcing")), ("0\n", (True, "permissive")), (None, (False, "disabled"))],
)
def test_status(enforce: str | None, expect: tuple[bool, str]) -> None:
    st = se.status_from(enforce, "lockdown,capability,landlock,bpf", {"SELINUXTYPE": "default"})
    assert (st.enabled, st.mode) == expect
    assert st.policy == "default"
    if enforce is None:
        assert "active LSMs: lockdown,capability,landlock,bpf" in st.why
