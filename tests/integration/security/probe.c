/* Syscall probe for cove's confinement tests: each named check makes one system call
 * (in a child where the call would change the probe itself) and prints "name RESULT",
 * RESULT being "ok" or the errno's name.  Built static by the tests, copied into a
 * container and run there.  Arguments: check names, or "all"; "keysearch DESC" looks
 * for a key the host put in root's user keyring. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <linux/sched.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define KEY_SPEC_PROCESS_KEYRING -2
#define KEY_SPEC_USER_KEYRING -4
#define KEYCTL_GET_KEYRING_ID 0
#define KEYCTL_SEARCH 10
#define KEYCTL_READ 11

static long ret(long r) { return r < 0 ? -errno : 0; }

/* Run fn in a forked child; its result travels back as the exit status. */
static long in_child(long (*fn)(void)) {
    pid_t pid = fork();
    if (pid < 0) return -errno;
    if (pid == 0) {
        long r = fn();
        _exit(r < 0 ? (int)-r : 0);
    }
    int st;
    if (waitpid(pid, &st, 0) < 0) return -errno;
    if (!WIFEXITED(st)) return -EINTR;
    return -WEXITSTATUS(st);
}

static long c_keyctl(void) {
    return ret(syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_USER_KEYRING, 0));
}
static long c_add_key(void) {
    return ret(syscall(SYS_add_key, "user", "cove-probe", "x", 1, KEY_SPEC_PROCESS_KEYRING));
}
static long c_request_key(void) {
    long r = syscall(SYS_request_key, "user", "cove-probe-none", NULL, 0);
    return r < 0 && errno == ENOKEY ? 0 : ret(r);
}
static long unshare_usernet(void) { return ret(unshare(CLONE_NEWUSER | CLONE_NEWNET)); }
static long c_unshare_usernet(void) { return in_child(unshare_usernet); }
static long unshare_ns(void) { return ret(unshare(CLONE_NEWNS)); }
static long c_unshare_mnt(void) { return in_child(unshare_ns); }
static long do_mount(void) {
    mkdir("/tmp/probe-mnt", 0700);
    long r = ret(mount("probe", "/tmp/probe-mnt", "tmpfs", 0, "size=64k"));
    if (r == 0) umount("/tmp/probe-mnt");
    return r;
}
static long c_mount(void) { return in_child(do_mount); }
static long c_clone_newns(void) {
    long pid = syscall(SYS_clone, CLONE_NEWNS | SIGCHLD, 0, 0, 0, 0);
    if (pid < 0) return -errno;
    if (pid == 0) _exit(0);
    waitpid((pid_t)pid, NULL, 0);
    return 0;
}
static long c_clone3(void) {
    struct clone_args a;
    memset(&a, 0, sizeof a);
    a.exit_signal = SIGCHLD;
    long pid = syscall(SYS_clone3, &a, sizeof a);
    if (pid < 0) return -errno;
    if (pid == 0) _exit(0);
    waitpid((pid_t)pid, NULL, 0);
    return 0;
}
static long c_userfaultfd(void) {
    long fd = syscall(SYS_userfaultfd, O_CLOEXEC | 1 /* UFFD_USER_MODE_ONLY */);
    if (fd >= 0) close((int)fd);
    return ret(fd);
}
static long c_perf_event_open(void) {
    struct perf_event_attr a;
    memset(&a, 0, sizeof a);
    a.size = sizeof a;
    a.type = PERF_TYPE_SOFTWARE;
    a.config = PERF_COUNT_SW_TASK_CLOCK;
    a.exclude_kernel = 1;
    a.exclude_hv = 1;
    long fd = syscall(SYS_perf_event_open, &a, 0, -1, -1, 0);
    if (fd >= 0) close((int)fd);
    return ret(fd);
}
static long c_io_uring_setup(void) {
    char params[120];
    memset(params, 0, sizeof params);
    long fd = syscall(SYS_io_uring_setup, 4, params);
    if (fd >= 0) close((int)fd);
    return ret(fd);
}
static long c_bpf(void) {
    union { struct { uint32_t type, key, value, max; } m; char pad[128]; } a;
    memset(&a, 0, sizeof a);
    a.m.type = 2; /* BPF_MAP_TYPE_ARRAY */
    a.m.key = 4;
    a.m.value = 4;
    a.m.max = 1;
    long fd = syscall(SYS_bpf, 0 /* BPF_MAP_CREATE */, &a, sizeof a);
    if (fd >= 0) close((int)fd);
    return ret(fd);
}
static long c_personality_exec(void) {
    long r = syscall(SYS_personality, 0x0400000 /* READ_IMPLIES_EXEC */);
    if (r < 0) return -errno;
    syscall(SYS_personality, 0);
    return 0;
}
static long c_personality_query(void) { return ret(syscall(SYS_personality, 0xffffffffUL)); }
static long c_open_by_handle_at(void) {
    struct { struct file_handle h; unsigned char b[128]; } fh;
    int mount_id;
    fh.h.handle_bytes = 128;
    if (name_to_handle_at(AT_FDCWD, "/dev/shm", &fh.h, &mount_id, 0) < 0) return -errno;
    int dir = open("/dev/shm", O_RDONLY | O_DIRECTORY);
    long fd = syscall(SYS_open_by_handle_at, dir, &fh.h, O_RDONLY);
    close(dir);
    if (fd >= 0) close((int)fd);
    return ret(fd);
}
static long c_clock_settime(void) {
    /* CLOCK_MONOTONIC cannot be set: the kernel answers EINVAL once the call gets
     * through, and the host's clock is never touched */
    struct timespec ts = {0, 0};
    return ret(syscall(SYS_clock_settime, CLOCK_MONOTONIC, &ts));
}
static long c_reboot(void) {
    /* a wrong magic number: EINVAL past the capability check, nothing rebooted */
    return ret(syscall(SYS_reboot, 0x1234, 0x5678, 0, NULL));
}
static long c_kexec_load(void) {
    return ret(syscall(SYS_kexec_load, 0, 0, NULL, 0xdead0000UL));
}
static long c_init_module(void) { return ret(syscall(SYS_init_module, NULL, 0, "")); }
static long c_file_io(void) {
    int fd = open("/tmp/probe-file", O_CREAT | O_RDWR | O_TRUNC, 0600);
    if (fd < 0) return -errno;
    char buf[4];
    long r = write(fd, "abc", 3) == 3 && pread(fd, buf, 3, 0) == 3 ? 0 : -errno;
    close(fd);
    unlink("/tmp/probe-file");
    return r;
}
static long c_mkdir(void) {
    long r = ret(mkdir("/tmp/probe-dir", 0700));
    rmdir("/tmp/probe-dir");
    return r;
}
static long c_socket(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -errno;
    close(fd);
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0) return -errno;
    close(sv[0]);
    close(sv[1]);
    return 0;
}
static long nothing(void) { return 0; }
static long c_fork(void) { return in_child(nothing); }
static long run_true(void) {
    char *argv[] = {"true", NULL};
    execve("/bin/true", argv, NULL);
    return -errno;
}
static long c_execve(void) { return in_child(run_true); }
static void *thread_main(void *arg) { return arg; }
static long c_thread(void) {
    pthread_t t;
    int e = pthread_create(&t, NULL, thread_main, NULL);
    if (e) return -e;
    pthread_join(t, NULL);
    return 0;
}
static long c_ptrace_child(void) {
    pid_t pid = fork();
    if (pid < 0) return -errno;
    if (pid == 0) {
        pause();
        _exit(0);
    }
    long r = ret(ptrace(PTRACE_SEIZE, pid, NULL, NULL));
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return r;
}
static long c_process_vm_readv(void) {
    char src[8] = "abcdefg", dst[8];
    struct iovec l = {dst, 8}, rv = {src, 8};
    return ret(syscall(SYS_process_vm_readv, getpid(), &l, 1, &rv, 1, 0));
}

struct check { const char *name; long (*fn)(void); };
static const struct check CHECKS[] = {
    {"keyctl", c_keyctl}, {"add_key", c_add_key}, {"request_key", c_request_key},
    {"unshare_usernet", c_unshare_usernet}, {"unshare_mnt", c_unshare_mnt},
    {"mount", c_mount}, {"clone_newns", c_clone_newns}, {"clone3", c_clone3},
    {"userfaultfd", c_userfaultfd}, {"perf_event_open", c_perf_event_open},
    {"io_uring_setup", c_io_uring_setup}, {"bpf", c_bpf},
    {"personality_exec", c_personality_exec}, {"personality_query", c_personality_query},
    {"open_by_handle_at", c_open_by_handle_at}, {"clock_settime", c_clock_settime},
    {"reboot", c_reboot}, {"kexec_load", c_kexec_load}, {"init_module", c_init_module},
    {"file_io", c_file_io}, {"mkdir", c_mkdir}, {"socket", c_socket}, {"fork", c_fork},
    {"execve", c_execve}, {"thread", c_thread}, {"ptrace_child", c_ptrace_child},
    {"process_vm_readv", c_process_vm_readv},
};
#define NCHECKS (sizeof CHECKS / sizeof CHECKS[0])

static void report(const char *name, long r) {
    if (r == 0) printf("%s ok\n", name);
    else printf("%s %s\n", name, strerrorname_np((int)-r) ? strerrorname_np((int)-r) : "E?");
}

static int keysearch(const char *desc) {
    long id = syscall(SYS_keyctl, KEYCTL_SEARCH, KEY_SPEC_USER_KEYRING, "user", desc, 0);
    if (id < 0) { report("keysearch", -errno); return 0; }
    char buf[256];
    long n = syscall(SYS_keyctl, KEYCTL_READ, id, buf, sizeof buf - 1);
    if (n < 0) { report("keysearch", -errno); return 0; }
    buf[n < 255 ? n : 255] = 0;
    printf("keysearch found %s\n", buf);
    return 0;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc == 3 && strcmp(argv[1], "keysearch") == 0) return keysearch(argv[2]);
    for (size_t i = 0; i < NCHECKS; i++) {
        int wanted = argc < 2;
        for (int a = 1; a < argc; a++)
            if (strcmp(argv[a], "all") == 0 || strcmp(argv[a], CHECKS[i].name) == 0) wanted = 1;
        if (wanted) report(CHECKS[i].name, CHECKS[i].fn());
    }
    return 0;
}
