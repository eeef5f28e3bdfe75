/* cmd: what every subcommand shares: failing with one line, usage text. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "cmd.h"
#include "keyring.h"
#include "note.h"
#include "release.h"
#include "vault.h"

int cmd_fail(const char *cmd, int code)
{
	const char *m = err_msg();
	fprintf(stderr, "sealroom %s: %s\n", cmd, *m ? m : err_name(code));
	return code == ERR_USAGE ? 2 : 1;
}

int cmd_usage(const char *cmd, const char *usage)
{
	const char *m = err_msg();
	if (*m)
		fprintf(stderr, "sealroom %s: %s; usage: %s\n", cmd, m, usage);
	else
		fprintf(stderr, "sealroom %s: usage: %s\n", cmd, usage);
	return 2;
}

/* path + suffix, malloc'd. */
static char *with_suffix(const char *path, const char *suffix)
{
	size_t n = strlen(path) + strlen(suffix) + 1;
	char *p = xmalloc(n);
	snprintf(p, n, "%s%s", path, suffix);
	return p;
}

int cmd_load_wrapper(const char *key_path, struct note_wrapper **out)
{
	char *p = with_suffix(key_path, ".wrap");
	int r = note_wrapper_load(p, out);
	free(p);
	return r;
}

int cmd_load_wrap_pub(const char *key_path, struct buf *out)
{
	char *p = with_suffix(key_path, ".wrap.pub");
	unsigned char pk[32];
	int r;
	out->max = 4096;
	if ((r = buf_read_file(out, p)))
		err_set(r, "cannot read the wrapping key '%s' (made by 'sealroom key new'): %s", p, err_msg());
	while (!r && out->len && (out->p[out->len - 1] == '\n' || out->p[out->len - 1] == '\r'))
		out->p[--out->len] = 0;
	if (!r && (r = note_wrap_public_parse(out->p, out->len, pk, NULL)))
		err_set(r, "'%s': %s", p, err_msg());
	free(p);
	return r;
}

/* Write (p, len) to a new file path with mode (never over an existing one), fsync'd. */
int cmd_write_new(const char *path, const char *p, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return err_set(errno == EEXIST ? ERR_EXISTS : ERR_IO, "cannot create '%s': %s", path,
			       errno == EEXIST ? "it exists; refusing to overwrite it" : strerror(errno));
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int e = errno;
			close(fd);
			unlink(path);
			return err_set(ERR_IO, "cannot write '%s': %s", path, strerror(e));
		}
		p += n;
		len -= (size_t)n;
	}
	if (fsync(fd) < 0 || close(fd) < 0) {
		unlink(path);
		return err_set(ERR_IO, "cannot write '%s': %s", path, strerror(errno));
	}
	return 0;
}

int cmd_vendor_unlock(struct facility *f, const char *key_path, struct keyring *k, const char *product,
		      const char *version)
{
	struct note_signer *vendor = NULL;
	struct note_wrapper *wrap = NULL;
	struct vault_key *key = NULL;
	struct release_info info;
	unsigned char raw[VAULT_KEY_LEN];
	int r, got = 0;
	if ((r = note_signer_load(key_path, &vendor)) || (r = cmd_load_wrapper(key_path, &wrap)) ||
	    (r = release_get(f, product, version, &info)))
		goto out;
	got = 1;
	if (!(r = release_check_vendor(&info, vendor)) && !(r = release_unwrap(&info, wrap, &key)) &&
	    !(r = vault_key_bytes(key, raw)))
		r = keyring_put(k, product, version, raw, (int64_t)time(NULL) + CMD_VENDOR_WINDOW);
	sodium_memzero(raw, sizeof(raw));
out:
	if (got)
		release_info_release(&info);
	vault_key_free(key);
	note_signer_free(vendor);
	note_wrapper_free(wrap);
	return r;
}
