/* artifact: ELF sections and ar members of untrusted files (see artifact.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "artifact.h"

const char *artifact_kind_name(enum artifact_kind k)
{
	return k == ARTIFACT_ELF ? "ELF file" : k == ARTIFACT_AR ? "ar archive" : "file";
}

void artifact_release(struct artifact *a)
{
	free(a->parts);
	a->parts = NULL;
	a->n_parts = 0;
}

static int add_part(struct artifact *a, size_t *cap, const char *name, size_t name_len, uint64_t off,
		    uint64_t size)
{
	struct artifact_part *pt;
	size_t j = 0;
	if (a->n_parts == ARTIFACT_MAX_PARTS)
		return err_set(ERR_TOOBIG, "more than %d parts", ARTIFACT_MAX_PARTS);
	if (a->n_parts == *cap) {
		*cap = *cap ? *cap * 2 : 32;
		a->parts = xrealloc(a->parts, *cap * sizeof(*a->parts));
	}
	pt = &a->parts[a->n_parts++];
	for (size_t i = 0; i < name_len && j < ARTIFACT_NAME_MAX; i++) {
		unsigned char c = (unsigned char)name[i];
		pt->name[j++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	pt->name[j] = 0;
	pt->off = off;
	pt->size = size;
	return 0;
}

/* ---- ELF ---- */

struct elf {
	const unsigned char *p;
	size_t len;
	int is64, be;
};

static uint64_t rd(const struct elf *e, uint64_t off, unsigned n)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < n; i++) {
		unsigned sh = e->be ? (n - 1 - i) * 8 : i * 8;
		v |= (uint64_t)e->p[off + i] << sh;
	}
	return v;
}

/* Is [off, off+size) inside the file? */
static int inside(size_t len, uint64_t off, uint64_t size)
{
	return off <= len && size <= len - off;
}

static int parse_elf(const unsigned char *p, size_t len, struct artifact *a)
{
	struct elf e = {p, len, 0, 0};
	uint64_t shoff, phoff, shnum, phnum, shentsize, phentsize, shstrndx, ehsize;
	uint64_t str_off = 0, str_size = 0;
	size_t cap = 0;
	int r;

	a->kind = ARTIFACT_ELF;
	if (len < 52)
		return err_set(ERR_PARSE, "ELF: shorter than its header");
	if (p[4] != 1 && p[4] != 2)
		return err_set(ERR_PARSE, "ELF: unknown class %u", p[4]);
	if (p[5] != 1 && p[5] != 2)
		return err_set(ERR_PARSE, "ELF: unknown byte order %u", p[5]);
	e.is64 = p[4] == 2;
	e.be = p[5] == 2;
	if (e.is64 && len < 64)
		return err_set(ERR_PARSE, "ELF: shorter than its header");
	if (e.is64) {
		phoff = rd(&e, 32, 8);
		shoff = rd(&e, 40, 8);
		ehsize = rd(&e, 52, 2);
		phentsize = rd(&e, 54, 2);
		phnum = rd(&e, 56, 2);
		shentsize = rd(&e, 58, 2);
		shnum = rd(&e, 60, 2);
		shstrndx = rd(&e, 62, 2);
	} else {
		phoff = rd(&e, 28, 4);
		shoff = rd(&e, 32, 4);
		ehsize = rd(&e, 40, 2);
		phentsize = rd(&e, 42, 2);
		phnum = rd(&e, 44, 2);
		shentsize = rd(&e, 46, 2);
		shnum = rd(&e, 48, 2);
		shstrndx = rd(&e, 50, 2);
	}
	if (ehsize > len)
		return err_set(ERR_PARSE, "ELF: header size %llu past the end", (unsigned long long)ehsize);
	if ((r = add_part(a, &cap, "ELF header", 10, 0, ehsize ? ehsize : (e.is64 ? 64 : 52))))
		return r;
	if (phnum) {
		uint64_t want = e.is64 ? 56 : 32, total;
		if (phentsize < want || __builtin_mul_overflow(phentsize, phnum, &total) || !inside(len, phoff, total))
			return err_set(ERR_PARSE, "ELF: program headers lie outside the file");
		if ((r = add_part(a, &cap, "program headers", 15, phoff, total)))
			return r;
	}
	if (shoff == 0)
		return 0; /* no section headers (stripped to the bone) */
	{
		uint64_t want = e.is64 ? 64 : 40, total;
		if (shentsize < want || !inside(len, shoff, shentsize))
			return err_set(ERR_PARSE, "ELF: section headers lie outside the file");
		if (shnum == 0) /* the count is in section 0's sh_size */
			shnum = e.is64 ? rd(&e, shoff + 32, 8) : rd(&e, shoff + 20, 4);
		if (shstrndx == 0xffff)
			shstrndx = rd(&e, shoff + (e.is64 ? 40 : 24), 4);
		if (shnum > ARTIFACT_MAX_PARTS - 3)
			return err_set(ERR_PARSE, "ELF: %llu sections", (unsigned long long)shnum);
		if (__builtin_mul_overflow(shentsize, shnum, &total) || !inside(len, shoff, total))
			return err_set(ERR_PARSE, "ELF: section headers lie outside the file");
		if (shstrndx < shnum) {
			uint64_t h = shoff + shstrndx * shentsize;
			str_off = e.is64 ? rd(&e, h + 24, 8) : rd(&e, h + 16, 4);
			str_size = e.is64 ? rd(&e, h + 32, 8) : rd(&e, h + 20, 4);
			if (!inside(len, str_off, str_size))
				return err_set(ERR_PARSE, "ELF: the section name table lies outside the file");
		}
		for (uint64_t i = 0; i < shnum; i++) {
			uint64_t h = shoff + i * shentsize, name, type, off, size;
			char nb[32];
			const char *nm;
			size_t nl;
			name = rd(&e, h, 4);
			type = rd(&e, h + 4, 4);
			off = e.is64 ? rd(&e, h + 24, 8) : rd(&e, h + 16, 4);
			size = e.is64 ? rd(&e, h + 32, 8) : rd(&e, h + 20, 4);
			if (i == 0 && type == 0)
				continue;
			if (type == 8) /* SHT_NOBITS: nothing in the file */
				size = 0;
			if (!inside(len, off, size))
				return err_set(ERR_PARSE, "ELF: section %llu lies outside the file", (unsigned long long)i);
			if (str_size && name < str_size) {
				const char *s = (const char *)p + str_off + name;
				const char *z = memchr(s, 0, (size_t)(str_size - name));
				nm = s;
				nl = z ? (size_t)(z - s) : (size_t)(str_size - name);
			} else {
				nl = (size_t)snprintf(nb, sizeof(nb), "section %llu", (unsigned long long)i);
				nm = nb;
			}
			if (nl == 0) {
				nl = (size_t)snprintf(nb, sizeof(nb), "section %llu", (unsigned long long)i);
				nm = nb;
			}
			if ((r = add_part(a, &cap, nm, nl, off, size)))
				return r;
		}
		if ((r = add_part(a, &cap, "section headers", 15, shoff, total)))
			return r;
	}
	return 0;
}

/* ---- ar ---- */

static int dec(const unsigned char *p, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	size_t i = 0;
	while (i < n && p[i] == ' ')
		i++;
	if (i == n || p[i] < '0' || p[i] > '9')
		return -1;
	for (; i < n && p[i] >= '0' && p[i] <= '9'; i++) {
		if (v > (UINT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (uint64_t)(p[i] - '0');
	}
	for (; i < n; i++)
		if (p[i] != ' ')
			return -1;
	*out = v;
	return 0;
}

static int parse_ar(const unsigned char *p, size_t len, struct artifact *a)
{
	size_t pos = 8, cap = 0;
	uint64_t ln_off = 0, ln_size = 0;
	int r;

	a->kind = ARTIFACT_AR;
	while (pos < len) {
		const unsigned char *h = p + pos;
		uint64_t size;
		char name[ARTIFACT_NAME_MAX + 1], pn[ARTIFACT_NAME_MAX + 16];
		size_t nl = 16, data;
		if (len - pos < 60)
			return err_set(ERR_PARSE, "ar: a member header is cut at offset %zu", pos);
		if (h[58] != '`' || h[59] != '\n')
			return err_set(ERR_PARSE, "ar: bad member header at offset %zu", pos);
		if (dec(h + 48, 10, &size))
			return err_set(ERR_PARSE, "ar: bad member size at offset %zu", pos);
		data = pos + 60;
		if (!inside(len, data, size))
			return err_set(ERR_PARSE, "ar: a member at offset %zu runs past the end", pos);
		while (nl > 0 && h[nl - 1] == ' ')
			nl--;
		if (nl == 2 && h[0] == '/' && h[1] == '/') {
			ln_off = data;
			ln_size = size;
			memcpy(name, "long names", 11);
			nl = 10;
		} else if (nl == 1 && h[0] == '/') {
			memcpy(name, "symbol table", 13);
			nl = 12;
		} else if (nl > 1 && h[0] == '/' && h[1] >= '0' && h[1] <= '9') {
			uint64_t o;
			const unsigned char *s;
			size_t k = 0;
			if (dec(h + 1, nl - 1, &o) || o >= ln_size)
				return err_set(ERR_PARSE, "ar: a long name at offset %zu points outside its table", pos);
			s = p + ln_off + o;
			while (o + k < ln_size && s[k] != '/' && s[k] != '\n' && k < ARTIFACT_NAME_MAX)
				k++;
			memcpy(name, s, k);
			nl = k;
		} else if (nl > 3 && !memcmp(h, "#1/", 3)) {
			uint64_t k;
			if (dec(h + 3, nl - 3, &k) || k > size)
				return err_set(ERR_PARSE, "ar: a BSD name at offset %zu is longer than its member", pos);
			nl = k > ARTIFACT_NAME_MAX ? ARTIFACT_NAME_MAX : (size_t)k;
			memcpy(name, p + data, nl);
		} else {
			if (nl > 0 && h[nl - 1] == '/')
				nl--;
			memcpy(name, h, nl);
		}
		snprintf(pn, sizeof(pn), "%.*s (header)", (int)nl, name);
		if ((r = add_part(a, &cap, pn, strlen(pn), pos, 60)) ||
		    (r = add_part(a, &cap, name, nl, data, size)))
			return r;
		pos = data + (size_t)size;
		if (pos < len && (size & 1))
			pos++; /* members are 2-byte aligned */
	}
	return 0;
}

int artifact_parse(const void *p, size_t len, struct artifact *a)
{
	const unsigned char *u = p;
	size_t cap = 0;
	memset(a, 0, sizeof(*a));
	if (len >= 4 && !memcmp(u, "\177ELF", 4))
		return parse_elf(u, len, a);
	if (len >= 8 && !memcmp(u, "!<arch>\n", 8))
		return parse_ar(u, len, a);
	a->kind = ARTIFACT_FILE;
	return add_part(a, &cap, "the whole file", 14, 0, len);
}

/* ---- comparing ---- */

#define LIST_MAX 12

struct list {
	struct buf *b;
	size_t n;
	int r;
};

static void list_add(struct list *l, const char *head, const char *name)
{
	if (l->r)
		return;
	if (l->n < LIST_MAX)
		l->r = buf_addf(l->b, "%s%s", l->n ? ", " : head, name);
	else if (l->n == LIST_MAX)
		l->r = buf_addstr(l->b, ", ...");
	l->n++;
}

int artifact_diff(const void *old, size_t old_len, const void *new_, size_t new_len, struct buf *why)
{
	struct artifact a, b;
	const unsigned char *po = old, *pn = new_;
	char *used;
	struct list diff = {why, 0, 0}, gone = {why, 0, 0}, extra = {why, 0, 0};
	const char *unit;
	int r = 0;

	if (artifact_parse(old, old_len, &a)) {
		artifact_release(&a);
		a.kind = ARTIFACT_FILE;
		if ((r = artifact_parse("", 0, &a)))
			return r;
		a.parts[0].size = old_len;
	}
	if (artifact_parse(new_, new_len, &b)) {
		artifact_release(&b);
		b.kind = ARTIFACT_FILE;
		if ((r = artifact_parse("", 0, &b))) {
			artifact_release(&a);
			return r;
		}
		b.parts[0].size = new_len;
	}
	if (a.kind != b.kind) {
		r = buf_addf(why, "the artifact is %s %s, the attested output %s %s",
			     b.kind == ARTIFACT_ELF ? "an" : "a", artifact_kind_name(b.kind),
			     a.kind == ARTIFACT_ELF ? "an" : "a", artifact_kind_name(a.kind));
		goto out;
	}
	if (a.kind == ARTIFACT_FILE) {
		size_t n = old_len < new_len ? old_len : new_len, i = 0;
		while (i < n && po[i] == pn[i])
			i++;
		r = buf_addf(why, "the files first differ at byte %zu (%zu bytes attested, %zu shipped)", i,
			     old_len, new_len);
		goto out;
	}
	unit = a.kind == ARTIFACT_ELF ? "ELF sections differ: " : "archive members differ: ";
	used = xcalloc(b.n_parts ? b.n_parts : 1, 1);
	for (size_t i = 0; i < a.n_parts; i++) {
		const struct artifact_part *x = &a.parts[i];
		size_t j;
		for (j = 0; j < b.n_parts; j++)
			if (!used[j] && !strcmp(b.parts[j].name, x->name))
				break;
		if (j == b.n_parts) {
			continue;
		}
		used[j] = 1;
		if (x->size != b.parts[j].size || memcmp(po + x->off, pn + b.parts[j].off, (size_t)x->size)) {
			char nm[ARTIFACT_NAME_MAX + 64];
			if (x->size != b.parts[j].size)
				snprintf(nm, sizeof(nm), "%s (%llu vs %llu bytes)", x->name,
					 (unsigned long long)x->size, (unsigned long long)b.parts[j].size);
			else
				snprintf(nm, sizeof(nm), "%s", x->name);
			list_add(&diff, unit, nm);
		}
	}
	if (diff.r) {
		r = diff.r;
		free(used);
		goto out;
	}
	/* the parts only one side has */
	{
		char *found = xcalloc(a.n_parts ? a.n_parts : 1, 1);
		memset(used, 0, b.n_parts ? b.n_parts : 1);
		for (size_t i = 0; i < a.n_parts; i++)
			for (size_t j = 0; j < b.n_parts; j++)
				if (!used[j] && !strcmp(b.parts[j].name, a.parts[i].name)) {
					used[j] = 1;
					found[i] = 1;
					break;
				}
		for (size_t i = 0; i < a.n_parts; i++)
			if (!found[i])
				list_add(&gone, diff.n ? "; only in the attested output: " : "only in the attested output: ",
					 a.parts[i].name);
		for (size_t j = 0; j < b.n_parts; j++)
			if (!used[j])
				list_add(&extra, diff.n || gone.n ? "; only in the artifact: " : "only in the artifact: ",
					 b.parts[j].name);
		free(found);
	}
	free(used);
	r = gone.r ? gone.r : extra.r;
	if (!r && diff.n + gone.n + extra.n == 0)
		r = buf_addf(why, "every %s is the same; the files differ outside them (%zu bytes attested, "
			     "%zu shipped)", a.kind == ARTIFACT_ELF ? "section" : "member", old_len, new_len);
out:
	artifact_release(&a);
	artifact_release(&b);
	return r;
}
