/* SPDX-License-Identifier: GPL-3.0-or-later
 * sysprobe: call raw system calls, one per forked child, and report what came back.
 *
 * stdin: one call per line, "NAME NUMBER [ARG0 ... ARG5]" (arguments default to -1, numbers in C syntax).
 * stdout: "NAME ret=R errno=ENAME" | "NAME exit=N" | "NAME signal=N" | "NAME timeout".
 * Every call runs in its own child with a one-second alarm, so a call that blocks or ends the process
 * cannot stop the run; a child that forked (fork, vfork, clone) exits at once in the copy.
 * Written for dockguard.hardening's confinement scenario; static, no libc wrappers around the calls.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static int report_fd;

static void probe(const char *name, long nr, const long a[6]) {
    int fds[2];
    if (pipe(fds) != 0) { perror("pipe"); exit(2); }
    pid_t pid = fork();
    if (pid < 0) { perror("fork"); exit(2); }
    if (pid == 0) {
        close(fds[0]);
        report_fd = fds[1];
        pid_t self = (pid_t)syscall(SYS_getpid);
        alarm(1);
        long r = syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
        int e = errno;
        if ((pid_t)syscall(SYS_getpid) != self) _exit(0); /* the copy made by fork/vfork/clone */
        char buf[128];
        int n = snprintf(buf, sizeof buf, "ret=%ld errno=%s", r, r == -1 ? strerrorname_np(e) : "0");
        if (write(report_fd, buf, (size_t)n) < 0) _exit(3);
        _exit(0);
    }
    close(fds[1]);
    char buf[128] = {0};
    ssize_t got = 0, n;
    while ((n = read(fds[0], buf + got, sizeof buf - 1 - (size_t)got)) > 0) got += n;
    close(fds[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    if (got > 0) printf("%s %s\n", name, buf);
    else if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM) printf("%s timeout\n", name);
    else if (WIFSIGNALED(status)) printf("%s signal=%d\n", name, WTERMSIG(status));
    else printf("%s exit=%d\n", name, WEXITSTATUS(status));
    fflush(stdout);
}

int main(void) {
    char line[512];
    setvbuf(stdout, NULL, _IOLBF, 0);
    while (fgets(line, sizeof line, stdin)) {
        char name[64];
        long a[6] = {-1, -1, -1, -1, -1, -1};
        char *p = line, *end;
        int used;
        if (sscanf(p, "%63s%n", name, &used) != 1 || name[0] == '#') continue;
        p += used;
        long nr = strtol(p, &end, 0);
        if (end == p) { fprintf(stderr, "no number for %s\n", name); return 2; }
        p = end;
        for (int i = 0; i < 6; i++) {
            long v = (long)strtoull(p, &end, 0);
            if (end == p) break;
            a[i] = v;
            p = end;
        }
        probe(name, nr, a);
    }
    return 0;
}
