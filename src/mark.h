/*
 * mark: the marks every page of a session carries, and finding them again.
 *
 * Two marks:
 * - the visible watermark: reviewer name, lab, session id and time, tiled diagonally and
 *   semi-transparent, as an SVG image the renderer puts in a fixed layer over the code
 *   (mark_visible_svg; the session stylesheet that places it is shield.c's);
 * - the forensic mark: the page background is a tile of MARK_CELLS x MARK_CELLS cells of
 *   MARK_CELL pixels, each cell the background colour plus or minus MARK_AMP levels (of
 *   255). The
 *   signs (the chips) are a balanced pseudo-random sequence keyed by the facility's mark
 *   key and the session id, so nobody without the key can make another session's mark.
 *   The tile repeats over the whole page, so any quarter of a screenshot holds many copies.
 *
 * Detection (mark_detect) works on a grey image of unknown scale and offset: it removes
 * text and slow shading (only pixels near their local background count), folds the image
 * modulo the tile period for every scale on a fine grid, keeps the scales where the folded
 * tile has the most structure, and correlates the folded cells with each candidate's chips
 * at every cyclic offset. Under the null hypothesis (no mark, or another session's mark) a
 * correlation is about N(0, 1/MARK_CHIPS); a session is named only when its score is above
 * MARK_THRESHOLD and ahead of the runner-up by MARK_MARGIN.
 *
 * Survives (tests/unit/test_trace.c): PNG screenshots, JPEG quality 60, scaling to 50 %,
 * cropping to a quarter, and those combined. Does not survive: rotation or perspective
 * (a photo taken at an angle), heavy blurring, or a background recoloured by the viewer.
 */
#ifndef SEALROOM_MARK_H
#define SEALROOM_MARK_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

#define MARK_KEY_LEN 32
#define MARK_CELL 8
#define MARK_CELLS 16
#define MARK_TILE (MARK_CELL * MARK_CELLS)
#define MARK_CHIPS (MARK_CELLS * MARK_CELLS)
#define MARK_AMP 2
#define MARK_SID_MAX 16
/* A session is named when its correlation reaches this and beats the runner-up by MARK_MARGIN */
#define MARK_THRESHOLD 0.45
#define MARK_MARGIN 0.15
/* Images larger than this many pixels are refused by the detector (and by trace's decoders) */
#define MARK_PIXELS_MAX (40 * 1000 * 1000)

/* The chips (+1/-1, as many of each) of session_id under key, row by row. */
void mark_chips(const unsigned char key[MARK_KEY_LEN], const char *session_id,
		signed char chips[MARK_CHIPS]);

/*
 * The forensic tile for session_id: MARK_TILE x MARK_TILE RGB pixels (3 bytes each, row by
 * row) into rgb, on the background colour bg (0xRRGGBB; each channel is kept within
 * MARK_AMP+2..253-MARK_AMP so that the pattern never reaches the values the detector
 * ignores as clipped).
 */
void mark_tile_rgb(const unsigned char key[MARK_KEY_LEN], const char *session_id, uint32_t bg,
		   unsigned char *rgb);
/* The same tile as a PNG file appended to out. */
int mark_tile_png(const unsigned char key[MARK_KEY_LEN], const char *session_id, uint32_t bg,
		  struct buf *out) WUR;

/* What the visible watermark says. */
struct mark_label {
	const char *name;       /* the reviewer: full name or login */
	const char *lab;        /* the reviewer's organisation */
	const char *session_id; /* the session's public id */
	int64_t time;           /* unix seconds, shown in UTC */
};

/* The visible watermark as an SVG tile (XML-escaped text), appended to out. */
int mark_visible_svg(const struct mark_label *l, struct buf *out) WUR;

/*
 * Both marks drawn into w x h RGB pixels (3 bytes each, row by row), in place: the session's
 * chips (l->session_id under key) added to every pixel, cell by cell as on the page's
 * background tile, and the visible label tiled diagonally over the picture (dark text on a
 * light shadow, translucent), so that the image a file view shows carries both even when
 * saved or photographed on its own. ERR_USAGE for a bad size, ERR_IO when cairo fails.
 */
int mark_image_rgb(const unsigned char key[MARK_KEY_LEN], const struct mark_label *l, unsigned char *rgb, int w,
		   int h) WUR;

/* One candidate session and, after mark_detect, its score. */
struct mark_candidate {
	char session_id[MARK_SID_MAX + 1];
	double score; /* best correlation found, about N(0, 1/16) when absent */
};

struct mark_result {
	int found;      /* index of the named candidate, or -1 */
	double score;   /* the best candidate's score */
	double second;  /* the runner-up's score */
	double scale;   /* image pixels per page pixel where the best score was found */
	int usable;     /* 1 when enough background pixels were left to decide */
};

/*
 * Look for the candidates' marks in a grey image (w x h bytes, row by row). Fills each
 * candidate's score and res. ERR_TOOBIG past MARK_PIXELS_MAX, ERR_USAGE for no candidates.
 * An image without enough plain background is not an error: res->usable is 0 and nobody
 * is named.
 */
int mark_detect(const unsigned char key[MARK_KEY_LEN], const unsigned char *gray, int w, int h,
		struct mark_candidate *cands, size_t n, struct mark_result *res) WUR;

#endif
