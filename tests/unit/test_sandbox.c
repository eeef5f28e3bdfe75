/* test_sandbox: each restriction really applies, tried in a child process: undumpable
 * memory, Landlock (only the named file can be read), the front's seccomp filter (Seccomp: 2,
 * a file cannot be opened, executable memory cannot be mapped, exec kills), the uid drop. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox.h"
#include "test.h"

/* Run fn in a child; its exit status (or 128 + the signal that killed it). */
static int in_child(int (*fn)(void))
{
	int st;
	pid_t p = fork();
	if (p == 0)
		_exit(fn());
	if (p < 0 || waitpid(p, &st, 0) != p)
		return -1;
	return WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
}

static const char *status_field(const char *name, char *out, size_t cap)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	size_t n = strlen(name);
	out[0] = 0;
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, name, n) && line[n] == ':') {
			const char *v = line + n + 1;
			while (*v == ' ' || *v == '\t')
				v++;
			snprintf(out, cap, "%.*s", (int)strcspn(v, "\n"), v);
		}
	if (f)
		fclose(f);
	return out;
}

static int memory_child(void)
{
	struct rlimit l;
	char v[64];
	if (sandbox_memory())
		return 10;
	if (prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0)
		return 11;
	if (getrlimit(RLIMIT_CORE, &l) || l.rlim_cur != 0)
		return 12;
	status_field("VmLck", v, sizeof(v));
	return atoi(v) > 0 ? 0 : 13;
}

TEST(memory)
{
	if (geteuid() != 0 && !getenv("SEALROOM_MEMLOCK_OK")) {
		/* without CAP_IPC_LOCK and an unlimited RLIMIT_MEMLOCK, sandbox_memory must refuse */
		struct rlimit l;
		getrlimit(RLIMIT_MEMLOCK, &l);
		if (l.rlim_cur != RLIM_INFINITY) {
			CHECK(sandbox_memory() == ERR_DENIED && strstr(err_msg(), "LimitMEMLOCK=infinity"));
			return;
		}
	}
	CHECK(in_child(memory_child) == 0);
}

static char allowed[64], denied[64];

static int landlock_child(void)
{
	const char *files[] = {allowed, NULL};
	int abi = 0, fd;
	if (sandbox_no_new_privs() || sandbox_landlock(files, &abi))
		return 10;
	if (!abi)
		return 77; /* no Landlock in this kernel */
	if ((fd = open(allowed, O_RDONLY)) < 0)
		return 11;
	close(fd);
	if (open(denied, O_RDONLY) >= 0 || errno != EACCES)
		return 12;
	if (open(allowed, O_WRONLY) >= 0)
		return 13;
	if (mkdir("/tmp/sealroom-landlock-test-dir", 0700) == 0 || errno != EACCES)
		return 14;
	return 0;
}

TEST(landlock)
{
	int fd, r;
	snprintf(allowed, sizeof(allowed), "/tmp/sealroom-ll-a.XXXXXX");
	snprintf(denied, sizeof(denied), "/tmp/sealroom-ll-b.XXXXXX");
	CHECK((fd = mkstemp(allowed)) >= 0);
	close(fd);
	CHECK((fd = mkstemp(denied)) >= 0);
	close(fd);
	r = in_child(landlock_child);
	if (r == 77)
		fprintf(stderr, "FAIL: this kernel has no Landlock: the front relies on its empty root alone\n");
	CHECK(r == 0);
	unlink(allowed);
	unlink(denied);
}

/* Under the filter: no file, no new socket, no executable memory; exec kills. */
static int seccomp_child(void)
{
	char v[16];
	void *p;
	if (sandbox_no_new_privs() || sandbox_seccomp_front())
		return 10;
	if (open("/etc/hostname", O_RDONLY) >= 0 || errno != EPERM)
		return 11;
	if (syscall(SYS_socket, AF_UNIX, SOCK_STREAM, 0) >= 0 || errno != EPERM)
		return 12;
	p = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p != MAP_FAILED || errno != EPERM)
		return 13;
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED || mprotect(p, 4096, PROT_READ | PROT_EXEC) == 0)
		return 14;
	(void)v;
	execl("/bin/true", "true", (char *)NULL);
	return 15; /* exec must have killed the process */
}

TEST(seccomp)
{
	int sp[2];
	char v[16] = "";
	pid_t p;
	int st;
	/* killed by exec (SIGSYS), after every refusal above held */
	CHECK(in_child(seccomp_child) == 128 + SIGSYS);
	/* Seccomp: 2 as the kernel reports it, read from outside */
	CHECK(pipe(sp) == 0);
	p = fork();
	if (p == 0) {
		char c;
		close(sp[1]);
		if (sandbox_no_new_privs() || sandbox_seccomp_front())
			_exit(10);
		(void)!read(sp[0], &c, 1);
		_exit(0);
	}
	usleep(200000);
	{
		char path[64], line[256];
		FILE *f;
		snprintf(path, sizeof(path), "/proc/%d/status", (int)p);
		f = fopen(path, "r");
		while (f && fgets(line, sizeof(line), f))
			if (!strncmp(line, "Seccomp:", 8))
				snprintf(v, sizeof(v), "%.*s", (int)strcspn(line + 9, "\n"), line + 9);
		if (f)
			fclose(f);
	}
	close(sp[1]);
	waitpid(p, &st, 0);
	close(sp[0]);
	CHECK_EQ_STR(v, "2");
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static int drop_child(void)
{
	uid_t uid;
	gid_t gid;
	if (sandbox_front_user(&uid, &gid) || sandbox_drop_user(uid, gid))
		return 10;
	if (getuid() != uid || geteuid() != uid || getgid() != gid || getgroups(0, NULL) != 0)
		return 11;
	if (setuid(0) == 0 || open("/etc/shadow", O_RDONLY) >= 0)
		return 12;
	return 0;
}

TEST(drop_user)
{
	if (geteuid() != 0) {
		fprintf(stderr, "FAIL: the uid drop needs root to be tested (it is a no-op otherwise)\n");
		CHECK(geteuid() == 0);
		return;
	}
	CHECK(in_child(drop_child) == 0);
	setenv("SEALROOM_FRONT_USER", "no-such-account-here", 1);
	{
		uid_t u;
		gid_t g;
		CHECK(sandbox_front_user(&u, &g) == ERR_USAGE && strstr(err_msg(), "no-such-account-here"));
		setenv("SEALROOM_FRONT_USER", "root", 1);
		CHECK(sandbox_front_user(&u, &g) == ERR_USAGE && strstr(err_msg(), "may not run as root"));
		setenv("SEALROOM_FRONT_USER", "4242", 1);
		CHECK(sandbox_front_user(&u, &g) == 0 && u == 4242 && g == 4242);
	}
	unsetenv("SEALROOM_FRONT_USER");
}

int main(void)
{
	RUN(memory);
	RUN(landlock);
	RUN(seccomp);
	RUN(drop_user);
	return test_done();
}
