/* mark: the visible watermark, the forensic background tile, and its detector. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cairo.h>
#include <png.h>
#include <sodium.h>

#include "mark.h"

/* Scales searched: image pixels per page pixel, on a geometric grid. */
#define SCALE_MIN 0.30
#define SCALE_MAX 3.2
#define SCALE_STEP 1.004
/* How many of the most structured scales are correlated with every candidate */
#define TOP_SCALES 10
/* Sub-cell phases tried in each direction (MARK_CELL / PHASES pixels apart) */
#define PHASES 4
/* ... and while surveying the scales */
#define SURVEY_PHASES 2
/* Local background: box half-width, and how far a pixel may stray from it and still count */
#define BOX_R 12
#define NEAR_BG 6
/* Fewer usable pixels than this and the detector declines to decide */
#define MIN_PIXELS 4000
/* 2x2 swaps that mix the chips */
#define SWAPS 4096
/* Samples used to survey the scales */
#define SURVEY_SAMPLES 60000

void mark_chips(const unsigned char key[MARK_KEY_LEN], const char *session_id,
		signed char chips[MARK_CHIPS])
{
	static const char domain[] = "sealroom/mark/v1\n";
	unsigned char seed[randombytes_SEEDBYTES];
	uint32_t rnd[4 * SWAPS];
	crypto_generichash_state st;

	crypto_generichash_init(&st, key, MARK_KEY_LEN, sizeof(seed));
	crypto_generichash_update(&st, (const unsigned char *)domain, sizeof(domain) - 1);
	crypto_generichash_update(&st, (const unsigned char *)session_id, strlen(session_id));
	crypto_generichash_final(&st, seed, sizeof(seed));
	randombytes_buf_deterministic(rnd, sizeof(rnd), seed);
	/*
	 * Every row and every column of cells holds as many +1 as -1, so the detector may
	 * subtract row and column means (which removes lines of text) without losing any of
	 * the mark. Start from a checkerboard and mix it with 2x2 swaps, which keep that.
	 */
	for (int i = 0; i < MARK_CELLS; i++)
		for (int j = 0; j < MARK_CELLS; j++)
			chips[i * MARK_CELLS + j] = (i + j) % 2 ? -1 : 1;
	for (int k = 0; k < SWAPS; k++) {
		int i1 = (int)(rnd[4 * k] % MARK_CELLS), i2 = (int)(rnd[4 * k + 1] % MARK_CELLS);
		int j1 = (int)(rnd[4 * k + 2] % MARK_CELLS), j2 = (int)(rnd[4 * k + 3] % MARK_CELLS);
		signed char *a = &chips[i1 * MARK_CELLS + j1], *b = &chips[i1 * MARK_CELLS + j2];
		signed char *c = &chips[i2 * MARK_CELLS + j1], *d = &chips[i2 * MARK_CELLS + j2];
		if (*a == *d && *b == *c && *a != *b) {
			*a = (signed char)-*a;
			*b = (signed char)-*b;
			*c = (signed char)-*c;
			*d = (signed char)-*d;
		}
	}
	sodium_memzero(seed, sizeof(seed));
}

/* Keep base +- MARK_AMP within 2..253: the detector ignores clipped pixels (0, 1, 254, 255). */
static int clamp_channel(int v)
{
	if (v < MARK_AMP + 2)
		return MARK_AMP + 2;
	if (v > 253 - MARK_AMP)
		return 253 - MARK_AMP;
	return v;
}

void mark_tile_rgb(const unsigned char key[MARK_KEY_LEN], const char *session_id, uint32_t bg,
		   unsigned char *rgb)
{
	signed char chips[MARK_CHIPS];
	int base[3] = {clamp_channel((int)(bg >> 16) & 0xff), clamp_channel((int)(bg >> 8) & 0xff),
		       clamp_channel((int)bg & 0xff)};
	mark_chips(key, session_id, chips);
	for (int y = 0; y < MARK_TILE; y++)
		for (int x = 0; x < MARK_TILE; x++) {
			int c = chips[(y / MARK_CELL) * MARK_CELLS + x / MARK_CELL];
			unsigned char *p = rgb + ((size_t)y * MARK_TILE + (size_t)x) * 3;
			for (int k = 0; k < 3; k++)
				p[k] = (unsigned char)(base[k] + c * MARK_AMP);
		}
}

struct png_sink {
	struct buf *out;
	int r;
};

static void png_sink_write(png_structp png, png_bytep data, size_t len)
{
	struct png_sink *s = png_get_io_ptr(png);
	if (!s->r)
		s->r = buf_add(s->out, data, len);
}

static void png_sink_flush(png_structp png)
{
	(void)png;
}

int mark_tile_png(const unsigned char key[MARK_KEY_LEN], const char *session_id, uint32_t bg,
		  struct buf *out)
{
	unsigned char *rgb = xmalloc((size_t)MARK_TILE * MARK_TILE * 3);
	png_bytep rows[MARK_TILE];
	struct png_sink sink = {out, 0};
	png_structp png = NULL;
	png_infop info = NULL;
	size_t start = out->len;
	int r = 0;

	mark_tile_rgb(key, session_id, bg, rgb);
	for (int y = 0; y < MARK_TILE; y++)
		rows[y] = rgb + (size_t)y * MARK_TILE * 3;
	png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
	if (!png || !(info = png_create_info_struct(png))) {
		r = err_set(ERR_IO, "mark: cannot start a PNG");
		goto out;
	}
	if (setjmp(png_jmpbuf(png))) {
		r = err_set(ERR_IO, "mark: cannot write the PNG tile");
		goto out;
	}
	png_set_write_fn(png, &sink, png_sink_write, png_sink_flush);
	png_set_IHDR(png, info, MARK_TILE, MARK_TILE, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
		     PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	png_write_info(png, info);
	png_write_image(png, rows);
	png_write_end(png, NULL);
	r = sink.r;
out:
	png_destroy_write_struct(&png, &info);
	free(rgb);
	if (r)
		out->len = start, out->p[start] = 0;
	return r;
}

/* Append s with XML's five special characters escaped. */
static int add_xml(struct buf *out, const char *s)
{
	int r = 0;
	for (; *s && !r; s++) {
		switch (*s) {
		case '<': r = buf_addstr(out, "&lt;"); break;
		case '>': r = buf_addstr(out, "&gt;"); break;
		case '&': r = buf_addstr(out, "&amp;"); break;
		case '"': r = buf_addstr(out, "&quot;"); break;
		case '\'': r = buf_addstr(out, "&#39;"); break;
		default: r = buf_addch(out, *s);
		}
	}
	return r;
}

int mark_visible_svg(const struct mark_label *l, struct buf *out)
{
	char when[32];
	time_t t = (time_t)l->time;
	struct tm tm;
	int r;
	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M UTC", &tm);
	/* two staggered copies per tile so that the text lies on a brick pattern */
	for (int i = 0; i < 2; i++) {
		if (i == 0)
			r = buf_addstr(out, "<svg xmlns='http://www.w3.org/2000/svg' width='520' "
					    "height='300'><g transform='rotate(-24 260 150)' "
					    "font-family='sans-serif' font-size='15' fill='#000' "
					    "fill-opacity='0.10'>");
		else
			r = 0;
		if (r || (r = buf_addf(out, "<text x='%d' y='%d'>", i ? 270 : 10, i ? 230 : 80)) ||
		    (r = add_xml(out, l->name ? l->name : "")) || (r = buf_addstr(out, " \xc2\xb7 ")) ||
		    (r = add_xml(out, l->lab ? l->lab : "")) ||
		    (r = buf_addf(out, "</text><text x='%d' y='%d'>session ", i ? 270 : 10,
				  i ? 250 : 100)) ||
		    (r = add_xml(out, l->session_id ? l->session_id : "")) ||
		    (r = buf_addf(out, " \xc2\xb7 %s</text>", when)))
			return r;
	}
	return buf_addstr(out, "</g></svg>");
}

int mark_image_rgb(const unsigned char key[MARK_KEY_LEN], const struct mark_label *l, unsigned char *rgb, int w,
		   int h)
{
	signed char chips[MARK_CHIPS];
	cairo_surface_t *sf;
	cairo_t *cr;
	unsigned char *px;
	char line[512], when[32];
	time_t t = (time_t)l->time;
	struct tm tm;
	int stride, r = 0;
	if (!rgb || w <= 0 || h <= 0)
		return err_set(ERR_USAGE, "mark: bad image size");
	/* the forensic mark: the session's chips over the picture, as over the page */
	mark_chips(key, l->session_id ? l->session_id : "", chips);
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++) {
			int c = chips[((y / MARK_CELL) % MARK_CELLS) * MARK_CELLS + (x / MARK_CELL) % MARK_CELLS];
			unsigned char *p = rgb + ((size_t)y * w + (size_t)x) * 3;
			for (int k = 0; k < 3; k++) {
				int v = p[k] + c * MARK_AMP;
				p[k] = (unsigned char)(v < 0 ? 0 : v > 255 ? 255 : v);
			}
		}
	/* the visible watermark, drawn into the pixels: a saved copy carries it */
	sf = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
	if (cairo_surface_status(sf) != CAIRO_STATUS_SUCCESS) {
		cairo_surface_destroy(sf);
		return err_set(ERR_IO, "mark: cannot draw over a %dx%d image", w, h);
	}
	px = cairo_image_surface_get_data(sf);
	stride = cairo_image_surface_get_stride(sf);
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++) {
			const unsigned char *p = rgb + ((size_t)y * w + (size_t)x) * 3;
			uint32_t v = (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
			memcpy(px + (size_t)y * stride + (size_t)x * 4, &v, 4);
		}
	cairo_surface_mark_dirty(sf);
	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M UTC", &tm);
	snprintf(line, sizeof(line), "%s \xc2\xb7 %s \xc2\xb7 session %s \xc2\xb7 %s", l->name ? l->name : "",
		 l->lab ? l->lab : "", l->session_id ? l->session_id : "", when);
	cr = cairo_create(sf);
	cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
	cairo_set_font_size(cr, 15);
	/* dark text, and a light shadow under it, so that it shows on any picture */
	for (int y = -300; y < h + 300; y += 150)
		for (int x = -520; x < w + 520; x += 520) {
			for (int pass = 0; pass < 2; pass++) {
				cairo_save(cr);
				cairo_translate(cr, x + (y / 150 % 2) * 260 + pass, y + pass);
				cairo_rotate(cr, -0.42);
				cairo_move_to(cr, 0, 0);
				if (pass)
					cairo_set_source_rgba(cr, 0, 0, 0, 0.22);
				else
					cairo_set_source_rgba(cr, 1, 1, 1, 0.22);
				cairo_show_text(cr, line);
				cairo_restore(cr);
			}
		}
	if (cairo_status(cr) != CAIRO_STATUS_SUCCESS)
		r = err_set(ERR_IO, "mark: cannot draw the watermark");
	cairo_destroy(cr);
	cairo_surface_flush(sf);
	for (int y = 0; !r && y < h; y++)
		for (int x = 0; x < w; x++) {
			uint32_t v;
			unsigned char *p = rgb + ((size_t)y * w + (size_t)x) * 3;
			memcpy(&v, px + (size_t)y * stride + (size_t)x * 4, 4);
			p[0] = (unsigned char)(v >> 16);
			p[1] = (unsigned char)(v >> 8);
			p[2] = (unsigned char)v;
		}
	sodium_memzero(px, (size_t)stride * h);
	cairo_surface_destroy(sf);
	return r;
}

/* ---- detection ---- */

/* Sum of v over the box [x0,x1) x [y0,y1) from an integral image of stride w+1. */
static double box_sum(const double *ii, int w, int x0, int y0, int x1, int y1)
{
	size_t s = (size_t)w + 1;
	return ii[(size_t)y1 * s + x1] - ii[(size_t)y0 * s + x1] - ii[(size_t)y1 * s + x0] +
	       ii[(size_t)y0 * s + x0];
}

static void integral(const double *v, int w, int h, double *ii)
{
	size_t s = (size_t)w + 1;
	memset(ii, 0, sizeof(double) * s);
	for (int y = 0; y < h; y++) {
		double row = 0;
		ii[(size_t)(y + 1) * s] = 0;
		for (int x = 0; x < w; x++) {
			row += v[(size_t)y * w + x];
			ii[(size_t)(y + 1) * s + x + 1] = ii[(size_t)y * s + x + 1] + row;
		}
	}
}

/* Usable pixels: their position and their difference from the local background. */
struct samples {
	int *x, *y;
	float *v;
	size_t n;
};

/*
 * Keep the pixels that are plain background (close to the mean of the background around
 * them, not clipped), minus that mean: text, icons and shading drop out, the pattern stays.
 */
static void background_samples(const unsigned char *gray, int w, int h, struct samples *s)
{
	size_t n = (size_t)w * h, s1 = ((size_t)w + 1) * ((size_t)h + 1);
	double *val = xmalloc(n * sizeof(double)), *msk = xmalloc(n * sizeof(double));
	double *iv = xmalloc(s1 * sizeof(double)), *im = xmalloc(s1 * sizeof(double));
	double *mean = xmalloc(n * sizeof(double));

	for (size_t i = 0; i < n; i++) {
		msk[i] = gray[i] > 1 && gray[i] < 254;
		val[i] = gray[i] * msk[i];
	}
	/* two rounds: the second mean ignores what the first found to be far from background */
	for (int round = 0; round < 2; round++) {
		integral(val, w, h, iv);
		integral(msk, w, h, im);
		for (int y = 0; y < h; y++)
			for (int x = 0; x < w; x++) {
				int x0 = x > BOX_R ? x - BOX_R : 0, x1 = x + BOX_R + 1 < w ? x + BOX_R + 1 : w;
				int y0 = y > BOX_R ? y - BOX_R : 0, y1 = y + BOX_R + 1 < h ? y + BOX_R + 1 : h;
				double c = box_sum(im, w, x0, y0, x1, y1);
				mean[(size_t)y * w + x] = c >= 8 ? box_sum(iv, w, x0, y0, x1, y1) / c : -1000;
			}
		for (size_t i = 0; i < n; i++) {
			double d = gray[i] - mean[i];
			int near = gray[i] > 1 && gray[i] < 254 && fabs(d) <= (round ? NEAR_BG : 2.5 * NEAR_BG);
			msk[i] = near;
			val[i] = gray[i] * near;
		}
	}
	s->x = xmalloc(n * sizeof(int));
	s->y = xmalloc(n * sizeof(int));
	s->v = xmalloc(n * sizeof(float));
	s->n = 0;
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++) {
			size_t i = (size_t)y * w + x;
			if (!msk[i])
				continue;
			s->x[s->n] = x;
			s->y[s->n] = y;
			s->v[s->n] = (float)(gray[i] - mean[i]);
			s->n++;
		}
	free(val);
	free(msk);
	free(iv);
	free(im);
	free(mean);
}

/* The samples folded modulo the tile at one scale: sums and counts per tile pixel. */
struct fold {
	double sum[MARK_TILE * MARK_TILE];
	double cnt[MARK_TILE * MARK_TILE];
};

static void fold_at(const struct samples *s, double scale, int w, int h, size_t step,
		    struct fold *f, int *xb, int *yb)
{
	for (int x = 0; x < w; x++)
		xb[x] = (int)floor((x + 0.5) / scale) % MARK_TILE;
	for (int y = 0; y < h; y++)
		yb[y] = (int)floor((y + 0.5) / scale) % MARK_TILE;
	memset(f, 0, sizeof(*f));
	for (size_t i = 0; i < s->n; i += step) {
		int b = yb[s->y[i]] * MARK_TILE + xb[s->x[i]];
		f->sum[b] += s->v[i];
		f->cnt[b] += 1;
	}
}

/*
 * Cell means of the fold with the cell grid starting at (px, py), without their row and
 * column means, to unit norm. *energy gets the sum over cells of count * value^2: the
 * folded tile's structure, which for noise alone does not depend on the scale.
 */
static int cells_at(const struct fold *f, int px, int py, double cells[MARK_CHIPS], double *energy)
{
	double rs[MARK_TILE][MARK_CELLS], rc[MARK_TILE][MARK_CELLS], n[MARK_CHIPS];
	double mean = 0, norm = 0, e = 0;
	/* sum each row over the cells' columns first, then the rows of each cell */
	for (int y = 0; y < MARK_TILE; y++) {
		const double *sum = f->sum + y * MARK_TILE, *cnt = f->cnt + y * MARK_TILE;
		for (int j = 0; j < MARK_CELLS; j++) {
			double s = 0, c = 0;
			for (int x = 0; x < MARK_CELL; x++) {
				int b = (px + j * MARK_CELL + x) % MARK_TILE;
				s += sum[b];
				c += cnt[b];
			}
			rs[y][j] = s;
			rc[y][j] = c;
		}
	}
	for (int i = 0; i < MARK_CELLS; i++)
		for (int j = 0; j < MARK_CELLS; j++) {
			double s = 0, c = 0;
			for (int y = 0; y < MARK_CELL; y++) {
				int row = (py + i * MARK_CELL + y) % MARK_TILE;
				s += rs[row][j];
				c += rc[row][j];
			}
			if (c < 1)
				return -1;
			cells[i * MARK_CELLS + j] = s / c;
			n[i * MARK_CELLS + j] = c;
			mean += s / c;
		}
	/* remove row and column means: lines and columns of text, never the mark */
	{
		double row[MARK_CELLS] = {0}, col[MARK_CELLS] = {0};
		mean /= MARK_CHIPS;
		for (int i = 0; i < MARK_CELLS; i++)
			for (int j = 0; j < MARK_CELLS; j++) {
				row[i] += cells[i * MARK_CELLS + j] / MARK_CELLS;
				col[j] += cells[i * MARK_CELLS + j] / MARK_CELLS;
			}
		for (int i = 0; i < MARK_CELLS; i++)
			for (int j = 0; j < MARK_CELLS; j++) {
				double *v = &cells[i * MARK_CELLS + j];
				*v = *v - row[i] - col[j] + mean;
				norm += *v * *v;
				e += *v * *v * n[i * MARK_CELLS + j];
			}
	}
	if (norm <= 0)
		return -1;
	*energy = e;
	norm = sqrt(norm);
	for (int k = 0; k < MARK_CHIPS; k++)
		cells[k] /= norm;
	return 0;
}

/* A candidate's chips as doubles, the tile repeated twice each way, so shifts need no modulo. */
struct chips2 {
	double v[2 * MARK_CELLS][2 * MARK_CELLS];
};

static void chips2_fill(struct chips2 *d, const signed char chips[MARK_CHIPS])
{
	for (int i = 0; i < 2 * MARK_CELLS; i++)
		for (int j = 0; j < 2 * MARK_CELLS; j++)
			d->v[i][j] = chips[(i % MARK_CELLS) * MARK_CELLS + j % MARK_CELLS];
}

/* Best correlation of unit-norm cells with chips over every cyclic shift of the cell grid. */
static double best_shift(const double cells[MARK_CHIPS], const struct chips2 *d)
{
	double best = -2;
	for (int dy = 0; dy < MARK_CELLS; dy++)
		for (int dx = 0; dx < MARK_CELLS; dx++) {
			double c = 0;
			for (int i = 0; i < MARK_CELLS; i++) {
				const double *row = cells + i * MARK_CELLS, *crow = d->v[i + dy] + dx;
				for (int j = 0; j < MARK_CELLS; j++)
					c += row[j] * crow[j];
			}
			if (c > best)
				best = c;
		}
	return best / sqrt((double)MARK_CHIPS);
}

struct scale_energy {
	double scale, energy;
};

static int by_energy_desc(const void *a, const void *b)
{
	double x = ((const struct scale_energy *)a)->energy, y = ((const struct scale_energy *)b)->energy;
	return x < y ? 1 : x > y ? -1 : 0;
}

int mark_detect(const unsigned char key[MARK_KEY_LEN], const unsigned char *gray, int w, int h,
		struct mark_candidate *cands, size_t n, struct mark_result *res)
{
	struct samples s = {0};
	struct fold *f = NULL;
	struct scale_energy *se = NULL;
	struct chips2 *chips = NULL;
	signed char one[MARK_CHIPS];
	double cells[MARK_CHIPS];
	int *xb = NULL, *yb = NULL, n_scales = 0;
	size_t step;

	memset(res, 0, sizeof(*res));
	res->found = -1;
	if (!n)
		return err_set(ERR_USAGE, "mark: no candidate sessions to compare with");
	if (w <= 0 || h <= 0 || (int64_t)w * h > MARK_PIXELS_MAX)
		return err_set(ERR_TOOBIG, "mark: image of %dx%d pixels is too large (limit %d pixels)",
			       w, h, MARK_PIXELS_MAX);
	for (size_t c = 0; c < n; c++)
		cands[c].score = -1;
	background_samples(gray, w, h, &s);
	if (s.n < MIN_PIXELS)
		goto out;
	res->usable = 1;
	/* the scale survey needs far fewer pixels than the correlation */
	step = s.n > SURVEY_SAMPLES ? s.n / SURVEY_SAMPLES : 1;
	f = xmalloc(sizeof(*f));
	xb = xmalloc(sizeof(int) * (size_t)w);
	yb = xmalloc(sizeof(int) * (size_t)h);
	se = xmalloc(sizeof(*se) * 2048);
	/* pass 1: which scales give the folded tile the most structure (candidate-blind) */
	for (double sc = SCALE_MIN; sc <= SCALE_MAX && n_scales < 2048; sc *= SCALE_STEP) {
		double best = 0, e;
		fold_at(&s, sc, w, h, step, f, xb, yb);
		for (int py = 0; py < MARK_CELL; py += MARK_CELL / SURVEY_PHASES)
			for (int px = 0; px < MARK_CELL; px += MARK_CELL / SURVEY_PHASES)
				if (cells_at(f, px, py, cells, &e) == 0 && e > best)
					best = e;
		se[n_scales].scale = sc;
		se[n_scales].energy = best;
		n_scales++;
	}
	qsort(se, (size_t)n_scales, sizeof(*se), by_energy_desc);
	/* the zoom levels screenshots usually have are always tried, whatever the survey says
	 * (a periodic watermark or layout can outshine a small marked area in it) */
	{
		static const double usual[] = {1.0, 2.0, 0.5, 1.5, 0.75, 1.25, 3.0};
		int k = n_scales < TOP_SCALES ? n_scales : TOP_SCALES;
		for (size_t u = 0; u < sizeof(usual) / sizeof(usual[0]); u++) {
			se[k].scale = usual[u];
			se[k].energy = 0;
			k++;
		}
		n_scales = k;
	}
	/* pass 2: correlate every candidate at the best scales, every phase and shift */
	chips = xmalloc(sizeof(*chips) * n);
	for (size_t c = 0; c < n; c++) {
		mark_chips(key, cands[c].session_id, one);
		chips2_fill(&chips[c], one);
	}
	for (int k = 0; k < n_scales; k++) {
		double e;
		fold_at(&s, se[k].scale, w, h, 1, f, xb, yb);
		for (int py = 0; py < MARK_CELL; py += MARK_CELL / PHASES)
			for (int px = 0; px < MARK_CELL; px += MARK_CELL / PHASES) {
				if (cells_at(f, px, py, cells, &e))
					continue;
				for (size_t c = 0; c < n; c++) {
					double v = best_shift(cells, &chips[c]);
					if (v > cands[c].score) {
						cands[c].score = v;
						if (v >= res->score) {
							res->score = v;
							res->scale = se[k].scale;
						}
					}
				}
			}
	}
	{
		size_t best = 0;
		double second = -1;
		for (size_t c = 1; c < n; c++)
			if (cands[c].score > cands[best].score)
				best = c;
		for (size_t c = 0; c < n; c++)
			if (c != best && cands[c].score > second)
				second = cands[c].score;
		res->score = cands[best].score;
		res->second = n > 1 ? second : 0;
		if (res->score >= MARK_THRESHOLD && res->score - res->second >= MARK_MARGIN)
			res->found = (int)best;
	}
out:
	free(s.x);
	free(s.y);
	free(s.v);
	free(f);
	free(xb);
	free(yb);
	free(se);
	free(chips);
	return 0;
}
