/* SPDX-License-Identifier: GPL-3.0-or-later
 * lsmprobe: the one program the lsm scenario runs inside containers (static, no libc in the image).
 *   lsmprobe attr          print the LSM label of this process (/proc/self/attr/current)
 *   lsmprobe alg           socket(AF_ALG, SOCK_SEQPACKET, 0)
 *   lsmprobe write PATH    open(PATH, O_WRONLY)
 *   lsmprobe mount DIR     mount a tmpfs on DIR
 *   lsmprobe sleep         sleep until killed
 * Each prints "OK" or "ERR <errno> <name>": the errno tells AppArmor (EACCES) from seccomp (EPERM)
 * and from a kernel without the feature (EAFNOSUPPORT).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef AF_ALG
#define AF_ALG 38
#endif

static int report(int rc) {
    if (rc < 0) {
        int e = errno;
        printf("ERR %d %s\n", e, strerror(e));
    } else {
        printf("OK\n");
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc >= 2 && !strcmp(argv[1], "attr")) {
        char buf[256] = {0};
        int fd = open("/proc/self/attr/current", O_RDONLY);
        if (fd < 0) return report(fd);
        ssize_t n = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (n < 0) return report(-1);
        buf[strcspn(buf, "\n")] = 0;
        printf("%s\n", buf);
        return 0;
    }
    if (argc >= 2 && !strcmp(argv[1], "alg")) return report(socket(AF_ALG, SOCK_SEQPACKET, 0));
    if (argc >= 3 && !strcmp(argv[1], "write")) return report(open(argv[2], O_WRONLY));
    if (argc >= 3 && !strcmp(argv[1], "mount")) return report(mount("none", argv[2], "tmpfs", 0, NULL));
    if (argc >= 2 && !strcmp(argv[1], "sleep")) {
        signal(SIGTERM, SIG_DFL);
        for (;;) pause();
    }
    fprintf(stderr, "usage: lsmprobe attr|alg|write PATH|mount DIR|sleep\n");
    return 2;
}
