/*
 * cipherfont: the per-session substitution that keeps code out of the browser's text.
 *
 * A cipher maps every code point a font has a glyph for (printable ASCII, Latin, box
 * drawing, ...; not the controls \t \n \r) to CIPHER_HOMOPHONES distinct code points of
 * the Private Use Areas (U+E000..U+F8FF and planes 15 and 16), chosen by a keyed
 * pseudo-random draw from the session's seed, so two sessions share almost no code points;
 * cipher_encode picks one of them afresh for each occurrence, so that the text carries no
 * stable substitution. The renderer sends code
 * through cipher_encode; the page draws it with cipher_font's output, a copy of the font
 * whose cmap maps each private code point to the original character's glyph and has no
 * mapping for any real character, and whose 'post' table carries no glyph names. What the
 * DOM, copy and paste, "save page" and the accessibility tree hold is then private-use
 * junk that only this session's map turns back into code (cipher_decode, for trace).
 *
 * Code points the font has no glyph for pass through unchanged (the browser draws them with
 * another font): they are few in code and never ASCII.
 *
 * The font parser reads untrusted bytes: every offset and length is checked, sizes are
 * capped (CIPHER_FONT_MAX, CIPHER_CHARS_MAX). Only TrueType/OpenType sfnt files (not WOFF,
 * not collections) are accepted. A struct cipher is immutable once made and may be shared
 * between threads.
 */
#ifndef SEALROOM_CIPHERFONT_H
#define SEALROOM_CIPHERFONT_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

#define CIPHER_SEED_LEN 32
/* Private code points for each character, one chosen afresh for each occurrence */
#define CIPHER_HOMOPHONES 4
#define CIPHER_KEY_LEN 32
#define CIPHER_FONT_MAX (16 << 20)
#define CIPHER_PERTURB 6
#define CIPHER_CHARS_MAX 20000
/* The Debian font the room uses (package fonts-dejavu-core) */
#define CIPHER_FONT_PATH "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"

struct cipher;

/* The session's seed: a keyed hash of its public id under the facility's cipher key. */
void cipher_seed(const unsigned char key[CIPHER_KEY_LEN], const char *session_id,
		 unsigned char seed[CIPHER_SEED_LEN]);

/*
 * The code points ttf maps to glyphs (outside the private areas and the C0/C1 controls),
 * ascending, into *cps (malloc'd; the caller frees). ERR_PARSE for a damaged font,
 * ERR_TOOBIG past the limits.
 */
int cipher_font_charset(const void *ttf, size_t len, uint32_t **cps, size_t *n) WUR;

/* A cipher over the code points cps[0..n) (distinct) from seed. */
int cipher_new(const unsigned char seed[CIPHER_SEED_LEN], const uint32_t *cps, size_t n,
	       struct cipher **out) WUR;
void cipher_free(struct cipher *c);

/* The k-th private code point for cp (k modulo CIPHER_HOMOPHONES), or 0 when cp is not
 * mapped; and the way back. */
uint32_t cipher_map_nth(const struct cipher *c, uint32_t cp, unsigned k);
uint32_t cipher_unmap(const struct cipher *c, uint32_t pua);

/* Is cp in one of the Private Use Areas? */
int cipher_is_pua(uint32_t cp);

/*
 * Append (utf8, len) to out with each mapped code point replaced by its private one.
 * Invalid UTF-8 bytes become U+FFFD. The result is UTF-8 without any of the mapped
 * characters, so it needs no further escaping for HTML or JSON of those characters.
 */
int cipher_encode(const struct cipher *c, const char *utf8, size_t len, struct buf *out) WUR;

/*
 * The inverse: private code points this cipher made turn back into the original; others
 * are kept. *n_pua (may be NULL) gets the number of private code points seen, *n_known
 * (may be NULL) how many of them this cipher made.
 */
int cipher_decode(const struct cipher *c, const char *utf8, size_t len, struct buf *out,
		  size_t *n_pua, size_t *n_known) WUR;

/*
 * The session's font, made from ttf (a TrueType font with glyf outlines) so that it offers
 * no shortcut back to the characters: the glyphs in an order of the session's own (a keyed
 * shuffle), every outline changed (each point moved by up to CIPHER_PERTURB font units and
 * points added on straight segments, the hinting instructions dropped), so that no glyph
 * equals the original's by bytes, hash, point count or glyph id; a cmap of the private code
 * points only (format 4 for the Basic Multilingual Plane's, format 12 for all); 'post'
 * format 3 (no glyph names); a 'name' table that names nothing; and only the tables needed
 * to draw (OS/2, cmap, glyf, head, hhea, hmtx, loca, maxp, name, post). Appended to out;
 * serve it as font/ttf. ERR_PARSE for a font it cannot rewrite (no glyf, damaged tables).
 */
int cipher_font(const struct cipher *c, const void *ttf, size_t len, struct buf *out) WUR;

#endif
