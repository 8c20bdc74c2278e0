# Copyright (c) dockguard.hardening contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE: this module_util is internal to dockguard.hardening and can have
# breaking changes at any time. Do not use it from other collections.
"""The project's own description of Docker's default seccomp policy, and the hardening deltas.

Where the facts come from: the engine's seccomp documentation (what the default
blocks and which capability re-opens what), and the engine's behaviour, measured
with a probe that calls every x86_64 syscall in a container under the stock
profile, unconfined, and with each capability added (Engine 20.10.24 on Debian
12 and 26.1.5 on Debian 13, kernel 6.x; docs/confinement.md has the method and
the differences). The policy is Engine 26.1's, applied on both engines:

* Engine 20.10 differs in allowing io_uring (26.1 and Engine 25+ deny it), and
  in denying name_to_handle_at, pkey_*, process_vm_readv/writev and the
  syscalls newer than its profile (cachestat, fchmodat2, futex_wait/wake/requeue).
* Both engines deny keyctl, add_key, request_key, userfaultfd, pivot_root,
  swapon/swapoff and the kexec calls even when every capability is added.

The description is grouped by purpose, not copied from the engine's JSON; the
profile builder (_seccomp.profile) turns it into Docker's JSON format.
"""

from __future__ import annotations

import typing as t

# Data tables, grouped and wrapped by hand: not reformatted.
# fmt: off

# -- syscalls every container may make --------------------------------------------------------------

# Each group: what it is for. Names of every x86 ABI (64-bit, 32-bit, x32); a name an
# architecture does not have is skipped for that architecture by the runtime.
ALLOWED: dict[str, tuple[str, ...]] = {
    "start, exit and signals of processes": (
        "execve", "execveat", "exit", "exit_group", "fork", "vfork", "wait4", "waitid", "waitpid",
        "kill", "tkill", "tgkill", "rt_sigaction", "rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo",
        "rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait", "rt_sigtimedwait_time64", "rt_tgsigqueueinfo",
        "sigaltstack", "sigreturn", "signalfd", "signalfd4", "pause", "restart_syscall",
        "pidfd_open", "pidfd_send_signal", "seccomp", "prctl", "arch_prctl", "modify_ldt",
        "set_thread_area", "get_thread_area", "set_tid_address", "set_robust_list", "get_robust_list", "rseq",
        # process tracing: the kernel's ptrace access checks (Yama, same user) decide; Engine 26.1 allows these
        "ptrace", "process_vm_readv", "process_vm_writev",
    ),
    "identity and credentials (checked by the kernel against the container's capabilities)": (
        "getpid", "getppid", "gettid", "getpgid", "getpgrp", "getsid", "setpgid", "setsid",
        "getuid", "geteuid", "getgid", "getegid", "getresuid", "getresgid", "getgroups",
        "setuid", "setgid", "setreuid", "setregid", "setresuid", "setresgid", "setgroups", "setfsuid", "setfsgid",
        "getuid32", "geteuid32", "getgid32", "getegid32", "getresuid32", "getresgid32", "getgroups32",
        "setuid32", "setgid32", "setreuid32", "setregid32", "setresuid32", "setresgid32", "setgroups32",
        "setfsuid32", "setfsgid32", "capget", "capset",
    ),
    "memory": (
        "brk", "mmap", "mmap2", "munmap", "mremap", "mprotect", "madvise", "mincore", "msync",
        "mlock", "mlock2", "mlockall", "munlock", "munlockall", "remap_file_pages", "membarrier",
        "memfd_create", "memfd_secret", "pkey_alloc", "pkey_free", "pkey_mprotect", "map_shadow_stack",
        "process_mrelease",
    ),
    "files, directories and extended attributes": (
        "open", "openat", "openat2", "creat", "close", "close_range", "read", "readv", "pread64", "preadv", "preadv2",
        "write", "writev", "pwrite64", "pwritev", "pwritev2", "lseek", "_llseek", "dup", "dup2", "dup3",
        "fcntl", "fcntl64", "flock", "fsync", "fdatasync", "sync", "syncfs", "sync_file_range",
        "fallocate", "fadvise64", "fadvise64_64", "readahead", "truncate", "truncate64", "ftruncate", "ftruncate64",
        "stat", "stat64", "lstat", "lstat64", "fstat", "fstat64", "fstatat64", "newfstatat", "statx",
        "statfs", "statfs64", "fstatfs", "fstatfs64", "access", "faccessat", "faccessat2", "pipe", "pipe2",
        "chmod", "fchmod", "fchmodat", "fchmodat2", "chown", "fchown", "lchown", "fchownat",
        "chown32", "fchown32", "lchown32", "umask", "chdir", "fchdir", "getcwd", "getdents", "getdents64",
        "mkdir", "mkdirat", "rmdir", "mknod", "mknodat", "link", "linkat", "symlink", "symlinkat",
        "unlink", "unlinkat", "rename", "renameat", "renameat2", "readlink", "readlinkat",
        "utime", "utimes", "utimensat", "utimensat_time64", "futimesat", "name_to_handle_at",
        "getxattr", "lgetxattr", "fgetxattr", "setxattr", "lsetxattr", "fsetxattr",
        "listxattr", "llistxattr", "flistxattr", "removexattr", "lremovexattr", "fremovexattr",
        "copy_file_range", "sendfile", "sendfile64", "splice", "tee", "vmsplice", "cachestat",
        "inotify_init", "inotify_init1", "inotify_add_watch", "inotify_rm_watch", "fanotify_mark",
        "ioctl", "landlock_create_ruleset", "landlock_add_rule", "landlock_restrict_self",
    ),
    "waiting, polling, timers and clocks": (
        "select", "_newselect", "pselect6", "pselect6_time64", "poll", "ppoll", "ppoll_time64",
        "epoll_create", "epoll_create1", "epoll_ctl", "epoll_wait", "epoll_pwait", "epoll_pwait2",
        "epoll_ctl_old", "epoll_wait_old", "eventfd", "eventfd2",
        "futex", "futex_time64", "futex_waitv", "futex_wait", "futex_wake", "futex_requeue",
        "nanosleep", "clock_nanosleep", "clock_nanosleep_time64", "clock_gettime", "clock_gettime64",
        "clock_getres", "clock_getres_time64", "gettimeofday", "time", "times", "adjtimex", "clock_adjtime",
        "clock_adjtime64", "alarm", "getitimer", "setitimer", "timer_create", "timer_delete", "timer_getoverrun",
        "timer_gettime", "timer_gettime64", "timer_settime", "timer_settime64",
        "timerfd_create", "timerfd_gettime", "timerfd_gettime64", "timerfd_settime", "timerfd_settime64",
    ),
    "scheduling, limits and system information": (
        "sched_yield", "sched_getaffinity", "sched_setaffinity", "sched_getattr", "sched_setattr",
        "sched_getparam", "sched_setparam", "sched_getscheduler", "sched_setscheduler",
        "sched_get_priority_max", "sched_get_priority_min", "sched_rr_get_interval", "sched_rr_get_interval_time64",
        "getpriority", "setpriority", "ioprio_get", "ioprio_set", "getrlimit", "ugetrlimit", "setrlimit",
        "prlimit64", "getrusage", "getcpu", "getrandom", "sysinfo", "uname",
    ),
    "networking": (
        "socketpair", "bind", "connect", "listen", "accept", "accept4", "shutdown",
        "getsockname", "getpeername", "getsockopt", "setsockopt",
        "sendto", "sendmsg", "sendmmsg", "recvfrom", "recvmsg", "recvmmsg", "recvmmsg_time64",
        # the multiplexer of 32-bit x86: seccomp cannot see its arguments (delta socketcall)
        "socketcall",
    ),
    "System V and POSIX IPC (namespaced)": (
        "ipc", "msgget", "msgsnd", "msgrcv", "msgctl", "semget", "semop", "semtimedop", "semtimedop_time64",
        "semctl", "shmget", "shmat", "shmdt", "shmctl", "mq_open", "mq_unlink", "mq_timedsend",
        "mq_timedsend_time64", "mq_timedreceive", "mq_timedreceive_time64", "mq_notify", "mq_getsetattr",
    ),
    "asynchronous I/O (io_submit family; io_uring is not here)": (
        "io_setup", "io_destroy", "io_submit", "io_cancel", "io_getevents", "io_pgetevents", "io_pgetevents_time64",
    ),
}

# -- syscalls that one capability re-opens -----------------------------------------------------------

# A container given the capability (docker run --cap-add) may also make these calls.
BY_CAPABILITY: dict[str, tuple[str, ...]] = {
    "CAP_SYS_ADMIN": (
        "bpf", "clone", "clone3", "fanotify_init", "fsconfig", "fsmount", "fsopen", "fspick", "lookup_dcookie",
        "mount", "mount_setattr", "move_mount", "open_tree", "perf_event_open", "quotactl", "quotactl_fd",
        "setdomainname", "sethostname", "setns", "syslog", "umount", "umount2", "unshare",
    ),
    "CAP_SYS_BOOT": ("reboot",),
    "CAP_SYS_CHROOT": ("chroot",),
    "CAP_SYS_MODULE": ("init_module", "finit_module", "delete_module"),
    "CAP_SYS_PACCT": ("acct",),
    "CAP_SYS_PTRACE": ("kcmp", "pidfd_getfd", "process_madvise"),
    "CAP_SYS_RAWIO": ("iopl", "ioperm"),
    "CAP_SYS_TIME": ("settimeofday", "stime", "clock_settime", "clock_settime64"),
    "CAP_SYS_TTY_CONFIG": ("vhangup",),
    "CAP_SYS_NICE": ("get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node"),
    "CAP_SYSLOG": ("syslog",),
    "CAP_DAC_READ_SEARCH": ("open_by_handle_at",),
}

# Docker's default capability set: the capabilities a container has without --cap-add.
DEFAULT_CAPS = frozenset(
    {
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID",
        "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL",
        "CAP_AUDIT_WRITE",
    }
)

# -- syscalls allowed only with some arguments ------------------------------------------------------

# clone without CAP_SYS_ADMIN: no flag that creates a namespace (CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC,
# NEWUSER, NEWPID, NEWNET). x86 passes the flags in the first argument.
CLONE_NAMESPACE_FLAGS = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000
# personality: Linux, Linux32, UNAME26, both, and 0xffffffff (query)
PERSONALITIES = (0x0, 0x8, 0x20000, 0x20008, 0xFFFFFFFF)
# clone3's flags live in memory seccomp cannot read: without CAP_SYS_ADMIN it fails with ENOSYS, and the C
# library falls back to clone, whose flags the filter sees.
ENOSYS = 38
EPERM = 1

# -- address families ---------------------------------------------------------------------------------

AF_ALG = 38
AF_VSOCK = 40


class Delta(t.NamedTuple):
    """A named change to the default policy, with why and what it costs."""

    name: str
    default: bool
    reason: str
    cost: str
    deny: tuple[str, ...] = ()  # removed from every allow rule, whatever the capabilities
    families: tuple[int, ...] = ()  # socket() address families denied
    clone_namespaces: bool = False  # clone/clone3 never create namespaces, even with CAP_SYS_ADMIN


DELTAS: dict[str, Delta] = {
    d.name: d
    for d in (
        Delta(
            "af_alg_vsock",
            True,
            "CVE-2026-31431 (Copy Fail): any process that opens an AF_ALG socket can write 4 bytes into the page "
            "cache, which containers share, and escalate. Docker's default allows AF_ALG before Engine 29.4.2 "
            "(Debian's 20.10 and 26.1 do). AF_VSOCK reaches the hypervisor's host side from a VM.",
            "containers cannot use the kernel crypto API through sockets (libkcapi, cryptsetup's kernel backend, "
            "OpenSSL's afalg engine: these fall back to user-space crypto) nor vsock (VM guest agents).",
            families=(AF_ALG, AF_VSOCK),
        ),
        Delta(
            "socketcall",
            False,
            "32-bit x86 programs can open sockets through socketcall, whose arguments seccomp cannot read: "
            "without this delta a 32-bit program still reaches AF_ALG on a kernel with IA-32 emulation.",
            "32-bit x86 programs whose C library uses socketcall (older i386 glibc, some static binaries) lose "
            "all networking; 64-bit programs are unaffected.",
            deny=("socketcall",),
        ),
        Delta(
            "ptrace",
            False,
            "Tracing and reading other processes' memory inside a container (ptrace, process_vm_readv/writev, "
            "kcmp, pidfd_getfd, process_madvise) is a common step of credential theft and exploit chains.",
            "debuggers, strace, profilers and crash reporters no longer work in containers, even with "
            "CAP_SYS_PTRACE.",
            deny=("ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd", "process_madvise"),
        ),
        Delta(
            "bpf_perf",
            False,
            "bpf and perf_event_open are large kernel attack surfaces; a container given CAP_SYS_ADMIN may "
            "otherwise load BPF programs and open performance counters.",
            "observability agents (BPF tracers, perf) cannot run in containers, even with CAP_SYS_ADMIN.",
            deny=("bpf", "perf_event_open"),
        ),
        Delta(
            "namespaces",
            False,
            "New namespaces (user namespaces above all) expose kernel code that root-only paths otherwise guard; "
            "a container given CAP_SYS_ADMIN may otherwise unshare, setns and mount.",
            "nested containers and sandboxes (Docker in Docker, BuildKit, bubblewrap, Chrome's sandbox) cannot "
            "run in containers, even with CAP_SYS_ADMIN.",
            deny=("unshare", "setns", "mount", "umount", "umount2", "mount_setattr", "move_mount", "open_tree",
                  "fsopen", "fsconfig", "fsmount", "fspick"),
            clone_namespaces=True,
        ),
    )
}

# Syscalls the default policy denies to every container, whatever its capabilities (measured on both
# engines): named so that the scenario proves them denied and the documentation can say why.
DENIED_ALWAYS: dict[str, str] = {
    "io_uring_setup": "io_uring: a frequent source of kernel privilege escalations (denied since Engine 25)",
    "io_uring_enter": "io_uring",
    "io_uring_register": "io_uring",
    "keyctl": "the kernel keyring is not namespaced",
    "add_key": "the kernel keyring is not namespaced",
    "request_key": "the kernel keyring is not namespaced",
    "userfaultfd": "user-space page-fault handling widens use-after-free races in the kernel",
    "pivot_root": "changes the root of the mount namespace",
    "migrate_pages": "moves other processes' memory between NUMA nodes",
    "move_pages": "moves other processes' memory between NUMA nodes",
    "swapon": "host swap", "swapoff": "host swap",
    "kexec_load": "loads a new kernel", "kexec_file_load": "loads a new kernel",
    "uselib": "obsolete", "ustat": "obsolete", "sysfs": "obsolete", "_sysctl": "obsolete",
    "vm86": "32-bit virtual 8086 mode", "vm86old": "32-bit virtual 8086 mode",
    "nfsservctl": "removed from Linux", "create_module": "removed from Linux", "get_kernel_syms": "removed",
    "query_module": "removed from Linux",
}

# Without these no container could start or end: the runtime execs the workload after loading the
# filter, and every program ends, maps memory and returns from signals.
ESSENTIAL: dict[str, str] = {
    "execve": "the runtime starts the container's process with execve after the filter is loaded",
    "execveat": "the runtime may start the process with execveat",
    "exit": "no thread could end",
    "exit_group": "no process could end",
    "rt_sigreturn": "no signal handler could return",
    "brk": "the C library's allocator",
    "mmap": "the program loader maps every binary and library",
    "mprotect": "the program loader",
    "munmap": "the program loader",
    "arch_prctl": "x86_64 thread-local storage, set up before main()",
    "read": "reading any file",
    "write": "writing any file",
    "openat": "opening any file",
    "close": "closing any file",
}
# fmt: on
