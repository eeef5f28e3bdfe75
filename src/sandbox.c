/* sandbox: process restrictions of serve; see sandbox.h. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/landlock.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <seccomp.h>

#include "sandbox.h"

int sandbox_nodump(void)
{
	struct rlimit no = {0, 0};
	if (setrlimit(RLIMIT_CORE, &no) < 0 || prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return err_set(ERR_IO, "cannot make the process undumpable: %s", strerror(errno));
	return 0;
}

/* Does this process hold CAP_IPC_LOCK (bit 14 of CapEff)? */
static int can_lock_any(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	int yes = 0;
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "CapEff:", 7)) {
			unsigned long long caps = strtoull(line + 7, NULL, 16);
			yes = (caps >> 14) & 1;
		}
	fclose(f);
	return yes;
}

int sandbox_memory(void)
{
	struct rlimit l;
	int r;
	if ((r = sandbox_nodump()))
		return r;
	if (getrlimit(RLIMIT_MEMLOCK, &l) < 0)
		return err_set(ERR_IO, "cannot read the memory lock limit: %s", strerror(errno));
	if (l.rlim_cur != RLIM_INFINITY && !can_lock_any())
		return err_set(ERR_DENIED,
			       "the memory lock limit is %llu KiB and keys and sealed code must stay in locked "
			       "memory: set LimitMEMLOCK=infinity in the service (or ulimit -l unlimited)",
			       (unsigned long long)l.rlim_cur / 1024);
	/* the system call itself: a sanitizer's runtime makes mlockall() a no-op that says yes */
	if (syscall(SYS_mlockall, MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) < 0)
		return err_set(ERR_DENIED,
			       "cannot lock memory (%s) and keys and sealed code must stay in locked memory: "
			       "set LimitMEMLOCK=infinity in the service (or ulimit -l unlimited)",
			       strerror(errno));
	return 0;
}

int sandbox_no_new_privs(void)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return err_set(ERR_IO, "cannot set no_new_privs: %s", strerror(errno));
	return 0;
}

int sandbox_landlock(const char *const *read_files, int *applied)
{
	struct landlock_ruleset_attr ra = {0};
	long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
	int fd, r = 0;
	*applied = 0;
	if (abi < 1)
		return 0; /* no Landlock in this kernel: the empty root covers it */
	/* by bit, since the kernel headers may be older than the kernel: ABI 1 has 13 file
	 * and folder rights, 2 adds REFER (bit 13), 3 TRUNCATE (14), 5 IOCTL_DEV (15) */
	ra.handled_access_fs = (1ULL << 13) - 1;
	if (abi >= 2)
		ra.handled_access_fs |= 1ULL << 13;
	if (abi >= 3)
		ra.handled_access_fs |= 1ULL << 14;
	if (abi >= 5)
		ra.handled_access_fs |= 1ULL << 15;
	fd = (int)syscall(SYS_landlock_create_ruleset, &ra, sizeof(ra), 0);
	if (fd < 0)
		return err_set(ERR_IO, "landlock: cannot make a ruleset: %s", strerror(errno));
	for (const char *const *f = read_files; f && *f; f++) {
		struct landlock_path_beneath_attr pb = {0};
		int pfd = open(*f, O_PATH | O_CLOEXEC);
		if (pfd < 0) {
			r = err_set(ERR_IO, "landlock: cannot open '%s': %s", *f, strerror(errno));
			goto out;
		}
		pb.allowed_access = LANDLOCK_ACCESS_FS_READ_FILE;
		pb.parent_fd = pfd;
		if (syscall(SYS_landlock_add_rule, fd, LANDLOCK_RULE_PATH_BENEATH, &pb, 0) < 0) {
			r = err_set(ERR_IO, "landlock: cannot allow '%s': %s", *f, strerror(errno));
			close(pfd);
			goto out;
		}
		close(pfd);
	}
	if (syscall(SYS_landlock_restrict_self, fd, 0) < 0) {
		r = err_set(ERR_IO, "landlock: cannot restrict the process: %s", strerror(errno));
		goto out;
	}
	*applied = (int)abi;
out:
	close(fd);
	return r;
}

int sandbox_empty_root_prepare(void)
{
	char dir[] = "/tmp/sealroom-front-XXXXXX";
	if (geteuid() != 0)
		return 0;
	if (!mkdtemp(dir))
		return err_set(ERR_IO, "cannot make an empty root: %s", strerror(errno));
	/* enter it and delete it: an empty folder nothing can add to */
	if (chdir(dir) < 0 || rmdir(dir) < 0) {
		int e = errno;
		(void)rmdir(dir);
		return err_set(ERR_IO, "cannot make an empty root: %s", strerror(e));
	}
	return 0;
}

int sandbox_empty_root(int *applied)
{
	*applied = 0;
	if (geteuid() != 0)
		return 0;
	if (chroot(".") < 0 || chdir("/") < 0)
		return err_set(ERR_IO, "cannot enter the empty root: %s", strerror(errno));
	*applied = 1;
	return 0;
}

int sandbox_front_user(uid_t *uid, gid_t *gid)
{
	const char *name = getenv("SEALROOM_FRONT_USER");
	struct passwd *pw;
	char *end;
	if (name && *name) {
		unsigned long n = strtoul(name, &end, 10);
		if (!*end && n > 0 && n < 0xfffffffful) {
			*uid = (uid_t)n;
			*gid = (gid_t)n;
			return 0;
		}
		if (!(pw = getpwnam(name)))
			return err_set(ERR_USAGE, "SEALROOM_FRONT_USER '%s' is not an account of this host", name);
	} else if (!(pw = getpwnam("nobody"))) {
		*uid = 65534;
		*gid = 65534;
		return 0;
	}
	if (pw->pw_uid == 0)
		return err_set(ERR_USAGE, "the front may not run as root");
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	return 0;
}

int sandbox_drop_user(uid_t uid, gid_t gid)
{
	return sandbox_drop_user_caps(uid, gid, 0);
}

int sandbox_drop_user_caps(uid_t uid, gid_t gid, int keep_ipc_lock)
{
	if (geteuid() != 0)
		return 0;
	if (keep_ipc_lock && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		return err_set(ERR_IO, "cannot keep a capability: %s", strerror(errno));
	if (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0)
		return err_set(ERR_IO, "cannot become uid %u: %s", (unsigned)uid, strerror(errno));
	if (keep_ipc_lock) {
		struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
		struct __user_cap_data_struct d[2];
		memset(d, 0, sizeof(d));
		d[0].effective = d[0].permitted = 1u << CAP_IPC_LOCK;
		if (syscall(SYS_capset, &h, d) < 0 || prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
			return err_set(ERR_IO, "cannot keep only CAP_IPC_LOCK: %s", strerror(errno));
	}
	if (setuid(0) == 0) /* for good: no way back */
		return err_set(ERR_IO, "the process could become root again");
	return 0;
}

/* The front's filter (below); with exec_memory, mmap and mprotect may make memory
 * executable (the search worker's PCRE2 JIT). */
static int seccomp_apply(int exec_memory, const char *who)
{
	static const int allow[] = {
		SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev), SCMP_SYS(pread64),
		SCMP_SYS(close), SCMP_SYS(recvfrom), SCMP_SYS(sendto), SCMP_SYS(recvmsg), SCMP_SYS(sendmsg),
		SCMP_SYS(accept), SCMP_SYS(accept4), SCMP_SYS(shutdown), SCMP_SYS(setsockopt),
		SCMP_SYS(getsockopt), SCMP_SYS(getsockname), SCMP_SYS(getpeername), SCMP_SYS(fcntl),
		SCMP_SYS(poll), SCMP_SYS(ppoll), SCMP_SYS(select), SCMP_SYS(pselect6), SCMP_SYS(epoll_create1),
		SCMP_SYS(epoll_ctl), SCMP_SYS(epoll_wait), SCMP_SYS(epoll_pwait), SCMP_SYS(epoll_pwait2),
		SCMP_SYS(eventfd2), SCMP_SYS(futex), SCMP_SYS(munmap), SCMP_SYS(madvise), SCMP_SYS(brk),
		SCMP_SYS(mremap), SCMP_SYS(clock_gettime), SCMP_SYS(clock_getres), SCMP_SYS(gettimeofday),
		SCMP_SYS(time), SCMP_SYS(nanosleep), SCMP_SYS(clock_nanosleep), SCMP_SYS(getrandom),
		SCMP_SYS(rt_sigprocmask), SCMP_SYS(rt_sigreturn), SCMP_SYS(rt_sigaction), SCMP_SYS(sigaltstack),
		SCMP_SYS(exit), SCMP_SYS(exit_group), SCMP_SYS(set_robust_list), SCMP_SYS(rseq),
		SCMP_SYS(sched_yield), SCMP_SYS(gettid), SCMP_SYS(getpid), SCMP_SYS(tgkill), SCMP_SYS(tkill),
		SCMP_SYS(fstat), SCMP_SYS(newfstatat), SCMP_SYS(lseek), SCMP_SYS(restart_syscall),
		SCMP_SYS(getuid), SCMP_SYS(geteuid), SCMP_SYS(getgid), SCMP_SYS(getegid),
		SCMP_SYS(sched_getaffinity), SCMP_SYS(membarrier), SCMP_SYS(rt_sigtimedwait),
	};
	static const int kill[] = {
		SCMP_SYS(execve), SCMP_SYS(execveat), SCMP_SYS(ptrace), SCMP_SYS(process_vm_readv),
		SCMP_SYS(process_vm_writev),
	};
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
	int rc = 0;
	if (!ctx)
		return err_set(ERR_IO, "seccomp: cannot make a filter");
	for (size_t i = 0; i < sizeof(allow) / sizeof(allow[0]) && !rc; i++)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, allow[i], 0);
	for (size_t i = 0; i < sizeof(kill) / sizeof(kill[0]) && !rc; i++)
		rc = seccomp_rule_add(ctx, SCMP_ACT_KILL_PROCESS, kill[i], 0);
	if (exec_memory) {
		if (!rc)
			rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 0);
		if (!rc)
			rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 0);
	} else {
		/* memory, never executable: no new code in the front */
		if (!rc)
			rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
					      SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
		if (!rc)
			rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1,
					      SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	}
	if (!rc)
		rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	if (!rc)
		rc = seccomp_load(ctx);
	seccomp_release(ctx);
	if (rc)
		return err_set(ERR_IO, "seccomp: cannot load the %s's filter: %s", who, strerror(-rc));
	return 0;
}

int sandbox_seccomp_front(void)
{
	return seccomp_apply(0, "front");
}

int sandbox_seccomp_worker(void)
{
	return seccomp_apply(1, "search worker");
}
