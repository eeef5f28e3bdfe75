/* tlog: RFC 9162 Merkle tree hashes, proofs, and the checkpoint, proof and tile formats. */
#include <string.h>

#include <sodium.h>

#include "hash.h"
#include "tlog.h"

void tlog_leaf_hash(const void *entry, size_t len, unsigned char out[TLOG_HASH_LEN])
{
	struct hash *h = hash_new(HASH_SHA256);
	unsigned char z = 0x00;
	hash_update(h, &z, 1);
	hash_update(h, entry, len);
	hash_final(h, out);
	hash_free(h);
}

void tlog_node_hash(const unsigned char left[TLOG_HASH_LEN], const unsigned char right[TLOG_HASH_LEN],
		    unsigned char out[TLOG_HASH_LEN])
{
	unsigned char m[1 + 2 * TLOG_HASH_LEN];
	m[0] = 0x01;
	memcpy(m + 1, left, TLOG_HASH_LEN);
	memcpy(m + 1 + TLOG_HASH_LEN, right, TLOG_HASH_LEN);
	sha256(m, sizeof(m), out);
}

void tlog_empty_root(unsigned char out[TLOG_HASH_LEN])
{
	sha256("", 0, out);
}

/*
 * Fold leaves left to right keeping one hash per complete subtree of the prefix (at most
 * 64), then hash the right edge together from the right.
 */
void tlog_root(const unsigned char (*leaves)[TLOG_HASH_LEN], uint64_t n, unsigned char out[TLOG_HASH_LEN])
{
	unsigned char stack[64][TLOG_HASH_LEN];
	int top = 0;
	if (!n) {
		tlog_empty_root(out);
		return;
	}
	for (uint64_t i = 0; i < n; i++) {
		memcpy(stack[top++], leaves[i], TLOG_HASH_LEN);
		for (uint64_t c = i + 1; !(c & 1); c >>= 1) {
			tlog_node_hash(stack[top - 2], stack[top - 1], stack[top - 2]);
			top--;
		}
	}
	memcpy(out, stack[top - 1], TLOG_HASH_LEN);
	for (int j = top - 2; j >= 0; j--)
		tlog_node_hash(stack[j], out, out);
}

uint64_t tlog_stored_index(int level, uint64_t n)
{
	uint64_t i = 0;
	for (int l = level; l > 0; l--)
		n = 2 * n + 1;
	for (; n > 0; n >>= 1)
		i += n;
	return i + (uint64_t)level;
}

uint64_t tlog_stored_count(uint64_t n)
{
	uint64_t c;
	if (!n)
		return 0;
	c = tlog_stored_index(0, n - 1) + 1;
	for (uint64_t i = n - 1; i & 1; i >>= 1)
		c++;
	return c;
}

int tlog_stored_for_leaf(uint64_t n, const unsigned char leaf[TLOG_HASH_LEN],
			 const struct tlog_reader *rd, unsigned char (*out)[TLOG_HASH_LEN], size_t *n_out)
{
	unsigned char sib[TLOG_HASH_LEN];
	int m, r;
	if (n >= TLOG_MAX_SIZE)
		return err_set(ERR_TOOBIG, "log: tree size %llu is past the limit", (unsigned long long)n);
	m = __builtin_ctzll(n + 1);
	memcpy(out[0], leaf, TLOG_HASH_LEN);
	for (int i = 0; i < m; i++) {
		if ((r = rd->read(rd->ctx, tlog_stored_index(i, (n >> i) - 1), sib)))
			return r;
		tlog_node_hash(sib, out[i], out[i + 1]);
	}
	*n_out = (size_t)m + 1;
	return 0;
}

static uint64_t pow2_below(uint64_t n) /* largest power of two < n, n >= 2 */
{
	return (uint64_t)1 << (63 - __builtin_clzll(n - 1));
}

int tlog_range_hash(uint64_t lo, uint64_t hi, const struct tlog_reader *rd, unsigned char out[TLOG_HASH_LEN])
{
	uint64_t w = hi - lo, k;
	unsigned char l[TLOG_HASH_LEN], r2[TLOG_HASH_LEN];
	int r;
	if (lo >= hi || hi > TLOG_MAX_SIZE)
		return err_set(ERR_USAGE, "log: range [%llu, %llu) is empty or too large",
			       (unsigned long long)lo, (unsigned long long)hi);
	if (!(w & (w - 1)) && !(lo & (w - 1))) {
		int level = __builtin_ctzll(w);
		return rd->read(rd->ctx, tlog_stored_index(level, lo >> level), out);
	}
	k = pow2_below(w);
	if ((r = tlog_range_hash(lo, lo + k, rd, l)) || (r = tlog_range_hash(lo + k, hi, rd, r2)))
		return r;
	tlog_node_hash(l, r2, out);
	return 0;
}

int tlog_tree_hash(uint64_t size, const struct tlog_reader *rd, unsigned char out[TLOG_HASH_LEN])
{
	if (!size) {
		tlog_empty_root(out);
		return 0;
	}
	return tlog_range_hash(0, size, rd, out);
}

/* RFC 9162 PATH(m, D[lo:hi]), appended at proof[*n]. */
static int path(uint64_t m, uint64_t lo, uint64_t hi, const struct tlog_reader *rd,
		unsigned char (*proof)[TLOG_HASH_LEN], size_t *n)
{
	uint64_t k;
	int r;
	if (hi - lo <= 1)
		return 0;
	if (*n >= TLOG_MAX_PROOF)
		BUG("inclusion proof too long");
	k = pow2_below(hi - lo);
	if (m < k) {
		if ((r = path(m, lo, lo + k, rd, proof, n)))
			return r;
		return tlog_range_hash(lo + k, hi, rd, proof[(*n)++]);
	}
	if ((r = path(m - k, lo + k, hi, rd, proof, n)))
		return r;
	return tlog_range_hash(lo, lo + k, rd, proof[(*n)++]);
}

int tlog_prove_inclusion(uint64_t index, uint64_t size, const struct tlog_reader *rd,
			 unsigned char (*proof)[TLOG_HASH_LEN], size_t *n)
{
	*n = 0;
	if (size > TLOG_MAX_SIZE || index >= size)
		return err_set(ERR_USAGE, "log: entry %llu is not in a tree of size %llu",
			       (unsigned long long)index, (unsigned long long)size);
	return path(index, 0, size, rd, proof, n);
}

/* RFC 9162 SUBPROOF(m, D[lo:hi], b), appended at proof[*n]. */
static int subproof(uint64_t m, uint64_t lo, uint64_t hi, int b, const struct tlog_reader *rd,
		    unsigned char (*proof)[TLOG_HASH_LEN], size_t *n)
{
	uint64_t k;
	int r;
	if (*n >= TLOG_MAX_PROOF)
		BUG("consistency proof too long");
	if (m == hi - lo)
		return b ? 0 : tlog_range_hash(lo, hi, rd, proof[(*n)++]);
	k = pow2_below(hi - lo);
	if (m <= k) {
		if ((r = subproof(m, lo, lo + k, b, rd, proof, n)))
			return r;
		return tlog_range_hash(lo + k, hi, rd, proof[(*n)++]);
	}
	if ((r = subproof(m - k, lo + k, hi, 0, rd, proof, n)))
		return r;
	return tlog_range_hash(lo, lo + k, rd, proof[(*n)++]);
}

int tlog_prove_consistency(uint64_t m, uint64_t n, const struct tlog_reader *rd,
			   unsigned char (*proof)[TLOG_HASH_LEN], size_t *n_proof)
{
	*n_proof = 0;
	if (!m || m > n || n > TLOG_MAX_SIZE)
		return err_set(ERR_USAGE, "log: no consistency proof from size %llu to size %llu",
			       (unsigned long long)m, (unsigned long long)n);
	if (m == n)
		return 0;
	return subproof(m, 0, n, 1, rd, proof, n_proof);
}

int tlog_verify_inclusion(uint64_t index, uint64_t size, const void *leaf, size_t leaf_len,
			  const unsigned char (*proof)[TLOG_HASH_LEN], size_t n_proof,
			  const void *root, size_t root_len)
{
	unsigned char r[TLOG_HASH_LEN];
	uint64_t fn = index, sn;
	if (index >= size)
		return err_set(ERR_AUTH, "inclusion proof: index %llu is not below tree size %llu",
			       (unsigned long long)index, (unsigned long long)size);
	if (leaf_len != TLOG_HASH_LEN || root_len != TLOG_HASH_LEN)
		return err_set(ERR_AUTH, "inclusion proof: leaf hash or root is not 32 bytes");
	if (n_proof > TLOG_MAX_PROOF)
		return err_set(ERR_AUTH, "inclusion proof: %zu hashes is too many", n_proof);
	sn = size - 1;
	memcpy(r, leaf, TLOG_HASH_LEN);
	for (size_t i = 0; i < n_proof; i++) {
		if (!sn)
			return err_set(ERR_AUTH, "inclusion proof: too many hashes (%zu)", n_proof);
		if ((fn & 1) || fn == sn) {
			tlog_node_hash(proof[i], r, r);
			while (!(fn & 1) && fn) {
				fn >>= 1;
				sn >>= 1;
			}
		} else {
			tlog_node_hash(r, proof[i], r);
		}
		fn >>= 1;
		sn >>= 1;
	}
	if (sn)
		return err_set(ERR_AUTH, "inclusion proof: too few hashes (%zu)", n_proof);
	if (sodium_memcmp(r, root, TLOG_HASH_LEN))
		return err_set(ERR_AUTH, "inclusion proof: computed root differs from the tree's root");
	return 0;
}

int tlog_verify_consistency(uint64_t m, uint64_t n, const void *root1, size_t len1,
			    const void *root2, size_t len2,
			    const unsigned char (*proof)[TLOG_HASH_LEN], size_t n_proof)
{
	unsigned char fr[TLOG_HASH_LEN], sr[TLOG_HASH_LEN];
	uint64_t fn, sn;
	size_t i = 0;
	if (!m)
		return err_set(ERR_AUTH, "consistency proof: from an empty tree proves nothing");
	if (m > n)
		return err_set(ERR_AUTH, "consistency proof: size %llu is larger than size %llu",
			       (unsigned long long)m, (unsigned long long)n);
	if (m == n) {
		if (n_proof)
			return err_set(ERR_AUTH, "consistency proof: equal sizes need an empty proof");
		if (len1 != len2 || sodium_memcmp(root1, root2, len1))
			return err_set(ERR_AUTH, "consistency proof: equal sizes but different roots");
		return 0;
	}
	if (!n_proof)
		return err_set(ERR_AUTH, "consistency proof: empty proof for different sizes");
	if (n_proof > TLOG_MAX_PROOF)
		return err_set(ERR_AUTH, "consistency proof: %zu hashes is too many", n_proof);
	if (len1 != TLOG_HASH_LEN || len2 != TLOG_HASH_LEN)
		return err_set(ERR_AUTH, "consistency proof: a root is not 32 bytes");
	fn = m - 1;
	sn = n - 1;
	/* a power-of-two first tree is itself the first node of the path */
	if (!(m & (m - 1))) {
		memcpy(fr, root1, TLOG_HASH_LEN);
	} else {
		memcpy(fr, proof[0], TLOG_HASH_LEN);
		i = 1;
	}
	memcpy(sr, fr, TLOG_HASH_LEN);
	while (fn & 1) {
		fn >>= 1;
		sn >>= 1;
	}
	for (; i < n_proof; i++) {
		if (!sn)
			return err_set(ERR_AUTH, "consistency proof: too many hashes (%zu)", n_proof);
		if ((fn & 1) || fn == sn) {
			tlog_node_hash(proof[i], fr, fr);
			tlog_node_hash(proof[i], sr, sr);
			while (!(fn & 1) && fn) {
				fn >>= 1;
				sn >>= 1;
			}
		} else {
			tlog_node_hash(sr, proof[i], sr);
		}
		fn >>= 1;
		sn >>= 1;
	}
	if (sn)
		return err_set(ERR_AUTH, "consistency proof: too few hashes (%zu)", n_proof);
	if (sodium_memcmp(fr, root1, TLOG_HASH_LEN))
		return err_set(ERR_AUTH, "consistency proof: does not lead to the older root");
	if (sodium_memcmp(sr, root2, TLOG_HASH_LEN))
		return err_set(ERR_AUTH, "consistency proof: does not lead to the newer root");
	return 0;
}

int tlog_hash_b64(struct buf *out, const unsigned char h[TLOG_HASH_LEN])
{
	char s[sodium_base64_ENCODED_LEN(TLOG_HASH_LEN, sodium_base64_VARIANT_ORIGINAL)];
	sodium_bin2base64(s, sizeof(s), h, TLOG_HASH_LEN, sodium_base64_VARIANT_ORIGINAL);
	return buf_addstr(out, s);
}

int tlog_hash_unb64(const char *s, size_t len, unsigned char out[TLOG_HASH_LEN])
{
	unsigned char tmp[TLOG_HASH_LEN + 3];
	size_t n = 0;
	const char *end = NULL;
	if (len != 44 || sodium_base642bin(tmp, sizeof(tmp), s, len, NULL, &n, &end,
					   sodium_base64_VARIANT_ORIGINAL) ||
	    end != s + len || n != TLOG_HASH_LEN)
		return err_set(ERR_PARSE, "'%.*s' is not the base64 of a 32-byte hash",
			       (int)(len > 60 ? 60 : len), s);
	memcpy(out, tmp, TLOG_HASH_LEN);
	return 0;
}

int tlog_checkpoint_format(struct buf *out, const char *origin, uint64_t size,
			   const unsigned char root[TLOG_HASH_LEN])
{
	int r = buf_addf(out, "%s\n%llu\n", origin, (unsigned long long)size);
	if (!r)
		r = tlog_hash_b64(out, root);
	return r ? r : buf_addch(out, '\n');
}

/* Parse a decimal without sign or leading zeros, at most max. */
static int parse_dec(const char *p, size_t len, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	if (!len || len > 20 || (len > 1 && p[0] == '0'))
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (p[i] < '0' || p[i] > '9' || __builtin_mul_overflow(v, 10, &v) ||
		    __builtin_add_overflow(v, (uint64_t)(p[i] - '0'), &v))
			return -1;
	}
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

/* The next "\n"-terminated line at *pos (without its "\n"); -1 when there is none. */
static int next_line(const char *t, size_t len, size_t *pos, struct str *line)
{
	const char *nl;
	if (*pos >= len)
		return -1;
	nl = memchr(t + *pos, '\n', len - *pos);
	if (!nl)
		return -1;
	line->p = t + *pos;
	line->len = (size_t)(nl - line->p);
	*pos += line->len + 1;
	return 0;
}

int tlog_checkpoint_parse(const char *text, size_t len, struct tlog_checkpoint *c)
{
	struct str o, s, h, ext;
	size_t pos = 0;
	if (next_line(text, len, &pos, &o) || next_line(text, len, &pos, &s) ||
	    next_line(text, len, &pos, &h))
		return err_set(ERR_PARSE, "checkpoint: fewer than three lines");
	if (!o.len || memchr(o.p, '\r', o.len))
		return err_set(ERR_PARSE, "checkpoint: empty or malformed origin line");
	if (parse_dec(s.p, s.len, TLOG_MAX_SIZE, &c->size))
		return err_set(ERR_PARSE, "checkpoint: size '%.*s' is not a decimal tree size",
			       (int)(s.len > 30 ? 30 : s.len), s.p);
	if (tlog_hash_unb64(h.p, h.len, c->root))
		return err_set(ERR_PARSE, "checkpoint: third line is not a base64 root hash");
	while (pos < len) {
		if (next_line(text, len, &pos, &ext) || !ext.len)
			return err_set(ERR_PARSE, "checkpoint: empty or unterminated extension line");
	}
	c->origin = o;
	return 0;
}

int tlog_proof_format(struct buf *out, uint64_t index, const unsigned char (*proof)[TLOG_HASH_LEN],
		      size_t n, const char *note, size_t note_len)
{
	int r = buf_addf(out, "c2sp.org/tlog-proof@v1\nindex %llu\n", (unsigned long long)index);
	for (size_t i = 0; !r && i < n; i++)
		if (!(r = tlog_hash_b64(out, proof[i])))
			r = buf_addch(out, '\n');
	if (!r)
		r = buf_addch(out, '\n');
	return r ? r : buf_add(out, note, note_len);
}

int tlog_proof_parse(const char *text, size_t len, uint64_t *index,
		     unsigned char (*proof)[TLOG_HASH_LEN], size_t *n, struct str *note)
{
	struct str line;
	size_t pos = 0;
	*n = 0;
	if (next_line(text, len, &pos, &line) || line.len != 22 ||
	    memcmp(line.p, "c2sp.org/tlog-proof@v1", 22))
		return err_set(ERR_PARSE, "proof: first line is not 'c2sp.org/tlog-proof@v1'");
	if (next_line(text, len, &pos, &line))
		return err_set(ERR_PARSE, "proof: no index line");
	if (line.len > 6 && !memcmp(line.p, "extra ", 6) && next_line(text, len, &pos, &line))
		return err_set(ERR_PARSE, "proof: no index line");
	if (line.len < 7 || memcmp(line.p, "index ", 6) ||
	    parse_dec(line.p + 6, line.len - 6, TLOG_MAX_SIZE, index))
		return err_set(ERR_PARSE, "proof: malformed index line");
	for (;;) {
		if (next_line(text, len, &pos, &line))
			return err_set(ERR_PARSE, "proof: no blank line before the checkpoint");
		if (!line.len)
			break;
		if (*n >= TLOG_MAX_PROOF)
			return err_set(ERR_TOOBIG, "proof: more than %d hashes", TLOG_MAX_PROOF);
		if (tlog_hash_unb64(line.p, line.len, proof[*n]))
			return err_set(ERR_PARSE, "proof: hash line %zu is not a base64 hash", *n + 1);
		(*n)++;
	}
	note->p = text + pos;
	note->len = len - pos;
	if (!note->len)
		return err_set(ERR_PARSE, "proof: no checkpoint after the blank line");
	return 0;
}

int tlog_tile_index_path(struct buf *out, uint64_t n)
{
	char parts[8][4];
	int k = 0, r = 0;
	do {
		snprintf(parts[k++], sizeof(parts[0]), "%03u", (unsigned)(n % 1000));
		n /= 1000;
	} while (n && k < 8);
	for (int i = k - 1; i >= 0 && !r; i--)
		r = buf_addf(out, "%s%s%s", i ? "x" : "", parts[i], i ? "/" : "");
	return r;
}

int tlog_tile_path_parse(const char *path, int *level, uint64_t *index, unsigned *width)
{
	const char *p = path, *pend, *istart;
	uint64_t v = 0, lv;
	struct buf canon;
	int r;
	if (strncmp(p, "tile/", 5))
		return err_set(ERR_PARSE, "tile path '%s' does not start with 'tile/'", path);
	p += 5;
	if (!strncmp(p, "entries/", 8)) {
		*level = -1;
		p += 8;
	} else {
		const char *sl = strchr(p, '/');
		if (!sl || parse_dec(p, (size_t)(sl - p), 63, &lv))
			return err_set(ERR_PARSE, "tile path '%s' has no level 0..63", path);
		*level = (int)lv;
		p = sl + 1;
	}
	/* index: ("x" ddd "/")* ddd */
	istart = p;
	for (int k = 0;; k++) {
		int x = *p == 'x';
		if (k >= 6)
			return err_set(ERR_PARSE, "tile path '%s' has too long an index", path);
		p += x;
		if (!(p[0] >= '0' && p[0] <= '9' && p[1] >= '0' && p[1] <= '9' && p[2] >= '0' && p[2] <= '9'))
			return err_set(ERR_PARSE, "tile path '%s' has a malformed index", path);
		v = v * 1000 + (uint64_t)((p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0'));
		p += 3;
		if (x) {
			if (*p != '/')
				return err_set(ERR_PARSE, "tile path '%s' has a malformed index", path);
			p++;
			continue;
		}
		break;
	}
	*width = TLOG_TILE_WIDTH;
	if (*p) {
		uint64_t w;
		if (strncmp(p, ".p/", 3))
			return err_set(ERR_PARSE, "tile path '%s' has trailing bytes", path);
		pend = p + 3;
		if (parse_dec(pend, strlen(pend), 255, &w) || !w)
			return err_set(ERR_PARSE, "tile path '%s' has a partial width outside 1..255", path);
		*width = (unsigned)w;
	}
	/* the encoding is unique: no "x000/" prefixes */
	buf_init(&canon, 64);
	r = tlog_tile_index_path(&canon, v);
	if (!r && ((size_t)(p - istart) != canon.len || memcmp(canon.p, istart, canon.len)))
		r = err_set(ERR_PARSE, "tile path '%s' has a non-canonical index", path);
	buf_release(&canon);
	if (r)
		return r;
	*index = v;
	return 0;
}
