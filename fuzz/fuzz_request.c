/* fuzz_request: the room's parsers of what a client sends (web.h): the request path, query
 * strings and form bodies (web_param), the Cookie header (web_cookie) and release routes.
 * The input is cut at its first two NUL bytes into a path, a query or form body, and a
 * Cookie header; every parser must refuse or give bounded, well-formed results. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "web.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = {"q", "r", "csrf", "from", "to", "login", "", "a=b"};
	const char *parts[3] = {"", "", ""};
	size_t lens[3] = {0, 0, 0};
	char *copy = malloc(size + 1), *p = copy, *e;
	struct buf out;
	char cookie[WEB_CSRF_HEX + 1];
	struct web_route rt;
	memcpy(copy, data, size);
	copy[size] = 0;
	e = copy + size;
	for (int i = 0; i < 3; i++) {
		size_t n = strnlen(p, (size_t)(e - p));
		parts[i] = p;
		lens[i] = n;
		p += n;
		if (p < e)
			p++;
	}
	buf_init(&out, HTTP_PATH_MAX + 1);
	if (web_path_decode(parts[0], &out) == 0) {
		const char *d = out.p;
		if (out.len > HTTP_PATH_MAX || d[0] != '/' || memchr(d, 0, out.len) || strstr(d, "//") ||
		    strstr(d, "/../") || strstr(d, "/./"))
			abort();
		if (web_route_release(d, &rt) == 0 &&
		    (strlen(rt.product) > RELEASE_NAME_MAX || strlen(rt.version) > RELEASE_NAME_MAX || !rt.what[0] ||
		     rt.rest < d || rt.rest > d + out.len))
			abort();
	}
	buf_release(&out);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		buf_init(&out, 4096);
		if (web_param(parts[1], lens[1], names[i], &out) == 0 && (out.len > 4096 || memchr(out.p, 0, out.len)))
			abort();
		buf_release(&out);
		if (web_cookie(parts[2], names[i], cookie, sizeof(cookie)) == 0 && strlen(cookie) >= sizeof(cookie))
			abort();
	}
	free(copy);
	return 0;
}
