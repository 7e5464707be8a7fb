"""cove's default seccomp profile, as data.

The behaviour is Docker's default profile (facts from its documentation and the seccomp
man pages): an allow-list, everything else answered with EPERM, some calls allowed only
when the container holds a capability, ``clone`` allowed only without namespace flags,
``clone3`` answered with ENOSYS so that libc falls back to ``clone``, and ``personality``
limited to the values that change nothing dangerous.

``default_profile()`` returns it in Docker's profile format (the format of a user's
``--security-opt seccomp=file.json``), so one converter (``seccomp.oci_section``) serves
both.  What stays out on purpose (EPERM): the kernel keyring (add_key, keyctl,
request_key), bpf, userfaultfd, perf_event_open, kexec_*, module loading, io_uring_*,
open_by_handle_at, clock and time setting, swapon/swapoff, mount-API calls, namespaces.
"""

from __future__ import annotations

from typing import Any

EPERM = 1
ENOSYS = 38

# Every namespace flag of clone(2): CLONE_NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER |
# NEWPID | NEWNET.  A clone whose flags masked with this are zero creates no namespace.
CLONE_NAMESPACE_FLAGS = 0x7E020000

# personality(2) values that are allowed: PER_LINUX, PER_LINUX32, UNAME26 alone and with
# PER_LINUX32, and 0xffffffff, which only asks for the current persona.
PERSONALITY_ALLOWED = (0x0, 0x8, 0x20000, 0x20008, 0xFFFFFFFF)

# Host architecture (uname -m) -> the libseccomp architectures a filter covers: the
# native ABI and the compatible ones a static binary could still call through.
ARCHES: dict[str, tuple[str, ...]] = {
    "x86_64": ("SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"),
    "aarch64": ("SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"),
}

# Allowed for everyone, grouped by what they are for.  Names unknown to the runtime's
# libseccomp (calls newer than it) are skipped by the runtime, not refused.
_ALWAYS = """
read write readv writev pread64 pwrite64 preadv preadv2 pwritev pwritev2 open openat openat2
creat close close_range lseek _llseek dup dup2 dup3 fcntl fcntl64 ioctl flock fsync fdatasync
sync syncfs sync_file_range truncate truncate64 ftruncate ftruncate64 fallocate fadvise64
fadvise64_64 readahead sendfile sendfile64 splice tee vmsplice copy_file_range

stat stat64 lstat lstat64 fstat fstat64 fstatat64 newfstatat statx statfs statfs64 fstatfs
fstatfs64 access faccessat faccessat2 getdents getdents64 getcwd chdir fchdir mkdir mkdirat
rmdir rename renameat renameat2 link linkat unlink unlinkat symlink symlinkat readlink
readlinkat mknod mknodat chmod fchmod fchmodat fchmodat2 chown chown32 fchown fchown32
fchownat lchown lchown32 umask utime utimes utimensat utimensat_time64 futimesat
name_to_handle_at

getxattr lgetxattr fgetxattr setxattr lsetxattr fsetxattr listxattr llistxattr flistxattr
removexattr lremovexattr fremovexattr

brk mmap mmap2 munmap mremap mprotect madvise mincore msync mlock mlock2 mlockall munlock
munlockall remap_file_pages membarrier memfd_create memfd_secret pkey_alloc pkey_free
pkey_mprotect map_shadow_stack cachestat

execve execveat fork vfork exit exit_group wait4 waitid waitpid kill tkill tgkill
getpid getppid gettid getpgid getpgrp setpgid getsid setsid set_tid_address
set_robust_list get_robust_list rseq restart_syscall prctl
getpriority setpriority sched_yield sched_getaffinity sched_setaffinity sched_getattr
sched_setattr sched_getparam sched_setparam sched_getscheduler sched_setscheduler
sched_get_priority_max sched_get_priority_min sched_rr_get_interval
sched_rr_get_interval_time64 ioprio_get ioprio_set getcpu pidfd_open pidfd_send_signal
process_mrelease

getuid getuid32 geteuid geteuid32 getgid getgid32 getegid getegid32 getresuid getresuid32
getresgid getresgid32 getgroups getgroups32 setuid setuid32 setgid setgid32 setreuid
setreuid32 setregid setregid32 setresuid setresuid32 setresgid setresgid32 setfsuid
setfsuid32 setfsgid setfsgid32 setgroups setgroups32 capget capset

rt_sigaction rt_sigprocmask rt_sigpending rt_sigsuspend rt_sigtimedwait
rt_sigtimedwait_time64 rt_sigqueueinfo rt_tgsigqueueinfo rt_sigreturn sigreturn sigaltstack
sigprocmask signalfd signalfd4 pause alarm

futex futex_time64 futex_waitv futex_wait futex_wake futex_requeue

nanosleep clock_nanosleep clock_nanosleep_time64 clock_gettime clock_gettime64 clock_getres
clock_getres_time64 clock_adjtime clock_adjtime64 adjtimex gettimeofday time times
getitimer setitimer timer_create timer_delete timer_gettime timer_gettime64 timer_settime
timer_settime64 timer_getoverrun timerfd_create timerfd_gettime timerfd_gettime64
timerfd_settime timerfd_settime64

select _newselect pselect6 pselect6_time64 poll ppoll ppoll_time64 epoll_create
epoll_create1 epoll_ctl epoll_ctl_old epoll_wait epoll_wait_old epoll_pwait epoll_pwait2
eventfd eventfd2 inotify_init inotify_init1 inotify_add_watch inotify_rm_watch
fanotify_mark

socket socketpair socketcall bind connect listen accept accept4 getsockname getpeername
getsockopt setsockopt shutdown send sendto sendmsg sendmmsg recv recvfrom recvmsg recvmmsg
recvmmsg_time64

pipe pipe2 ipc shmget shmat shmdt shmctl semget semop semtimedop semtimedop_time64 semctl
msgget msgsnd msgrcv msgctl mq_open mq_unlink mq_timedsend mq_timedsend_time64
mq_timedreceive mq_timedreceive_time64 mq_notify mq_getsetattr

io_setup io_destroy io_submit io_cancel io_getevents io_pgetevents io_pgetevents_time64

getrlimit ugetrlimit setrlimit prlimit64 getrusage sysinfo uname getrandom
seccomp landlock_create_ruleset landlock_add_rule landlock_restrict_self
get_thread_area set_thread_area
"""

ALWAYS: tuple[str, ...] = tuple(_ALWAYS.split())

# Allowed only where the architecture has them.
BY_ARCH: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (("amd64", "x32"), ("arch_prctl",)),
    (("amd64", "x32", "x86"), ("modify_ldt",)),
    (
        ("arm", "arm64"),
        ("arm_fadvise64_64", "arm_sync_file_range", "sync_file_range2", "breakpoint",
         "cacheflush", "set_tls"),
    ),
)  # fmt: skip

# Allowed only to a container that holds the capability (the kernel would check the
# capability too; the filter keeps the attack surface away from the others).
BY_CAP: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "CAP_SYS_ADMIN",
        ("bpf", "clone", "clone3", "fanotify_init", "fsconfig", "fsmount", "fsopen", "fspick",
         "lookup_dcookie", "mount", "mount_setattr", "move_mount", "open_tree",
         "perf_event_open", "quotactl", "quotactl_fd", "setdomainname", "sethostname", "setns",
         "syslog", "umount", "umount2", "unshare"),
    ),
    ("CAP_DAC_READ_SEARCH", ("open_by_handle_at",)),
    ("CAP_SYS_BOOT", ("reboot",)),
    ("CAP_SYS_CHROOT", ("chroot",)),
    ("CAP_SYS_MODULE", ("init_module", "finit_module", "delete_module")),
    ("CAP_SYS_PACCT", ("acct",)),
    (
        "CAP_SYS_PTRACE",
        ("kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv", "process_vm_writev",
         "ptrace"),
    ),
    ("CAP_SYS_RAWIO", ("iopl", "ioperm")),
    ("CAP_SYS_TIME", ("settimeofday", "stime", "clock_settime", "clock_settime64")),
    ("CAP_SYS_TTY_CONFIG", ("vhangup",)),
    ("CAP_SYS_NICE", ("get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node")),
    ("CAP_SYSLOG", ("syslog",)),
    ("CAP_BPF", ("bpf",)),
    ("CAP_PERFMON", ("perf_event_open",)),
)  # fmt: skip

# Reading another process's memory of the same user is safe once the kernel checks
# ptrace access properly (4.8 and later), so these are allowed there without a capability.
PTRACE_CALLS = ("ptrace", "process_vm_readv", "process_vm_writev")
PTRACE_MIN_KERNEL = "4.8"


def _allow(names: tuple[str, ...] | list[str], **extra: Any) -> dict[str, Any]:
    return {"names": list(names), "action": "SCMP_ACT_ALLOW", **extra}


def default_profile() -> dict[str, Any]:
    """The default profile in Docker's JSON profile format (a fresh copy each call)."""
    calls: list[dict[str, Any]] = [_allow(ALWAYS)]
    calls.append(_allow(PTRACE_CALLS, includes={"minKernel": PTRACE_MIN_KERNEL}))
    calls += [
        _allow(["personality"], args=[{"index": 0, "value": v, "op": "SCMP_CMP_EQ"}])
        for v in PERSONALITY_ALLOWED
    ]
    calls += [_allow(names, includes={"arches": list(arches)}) for arches, names in BY_ARCH]
    calls += [_allow(names, includes={"caps": [cap]}) for cap, names in BY_CAP]
    no_admin = {"caps": ["CAP_SYS_ADMIN"]}
    calls.append(
        _allow(
            ["clone"],
            args=[
                {"index": 0, "value": CLONE_NAMESPACE_FLAGS, "valueTwo": 0,
                 "op": "SCMP_CMP_MASKED_EQ"}
            ],
            excludes=no_admin,
        )
    )  # fmt: skip
    calls.append(
        {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": ENOSYS, "excludes": no_admin}
    )
    return {
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": EPERM,
        "archMap": [
            {"architecture": arches[0], "subArchitectures": list(arches[1:])}
            for arches in ARCHES.values()
        ],
        "syscalls": calls,
    }
