/* print: Bates-numbered, watermarked, searchable PDF prints of line ranges (cairo). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include <cairo-ft.h>
#include <cairo-pdf.h>
#include <cairo.h>
#include <jansson.h>

#include "db.h"
#include "hash.h"
#include "logdb.h"
#include "print.h"
#include "printd.h"
#include "quota.h"

#define PAGE_W 595.0 /* A4, points */
#define PAGE_H 842.0
#define MARGIN 40.0
#define FONT_SIZE 8.0
#define LINE_H 11.0

void print_bates_label(const char *prefix, int64_t n, char *out, size_t cap)
{
	snprintf(out, cap, "%s-%06lld", prefix, (long long)n);
}

struct rows {
	struct print_sheet_row *r;
	size_t n, cap;
};

static void rows_add(struct rows *rs, int64_t line, const char *s, size_t len)
{
	if (rs->n == rs->cap) {
		rs->cap = rs->cap ? 2 * rs->cap : 128;
		rs->r = xrealloc(rs->r, rs->cap * sizeof(struct print_sheet_row));
	}
	rs->r[rs->n].line = line;
	rs->r[rs->n].text = xstrndup(s, len);
	rs->n++;
}

static void rows_release(struct rows *rs)
{
	for (size_t i = 0; i < rs->n; i++)
		free(rs->r[i].text);
	free(rs->r);
}

/* Length of the valid UTF-8 sequence at p (len > 0), 0 when invalid. */
static size_t utf8_len(const unsigned char *p, size_t len)
{
	size_t n = p[0] < 0x80 ? 1 : (p[0] & 0xe0) == 0xc0 ? 2 : (p[0] & 0xf0) == 0xe0 ? 3 : (p[0] & 0xf8) == 0xf0 ? 4 : 0;
	if (!n || n > len || !utf8_valid(p, n))
		return 0;
	return n;
}

/* Cut the text into rows of at most PRINT_COLUMNS characters; returns the source lines. */
static int64_t layout(const char *text, size_t len, int64_t first, struct rows *rs)
{
	const unsigned char *p = (const unsigned char *)text, *e = p + len;
	int64_t line = first, lines = 0;
	while (p < e) {
		char cell[PRINT_COLUMNS * 4 + 8];
		size_t used = 0;
		int col = 0, cont = 0;
		const unsigned char *nl = memchr(p, '\n', (size_t)(e - p));
		const unsigned char *end = nl ? nl : e;
		while (p < end) {
			size_t n = utf8_len(p, (size_t)(end - p));
			if (*p == '\t') {
				int to = (col / 8 + 1) * 8;
				while (col < to && col < PRINT_COLUMNS)
					cell[used++] = ' ', col++;
				p++;
			} else if (!n || *p < 0x20 || *p == 0x7f) {
				cell[used++] = '?', col++;
				p++;
			} else {
				memcpy(cell + used, p, n);
				used += n, col++;
				p += n;
			}
			if (col >= PRINT_COLUMNS) {
				rows_add(rs, cont ? 0 : line, cell, used);
				used = 0, col = 0, cont = 1;
			}
		}
		if (used || !cont)
			rows_add(rs, cont ? 0 : line, cell, used);
		p = nl ? nl + 1 : e;
		line++, lines++;
	}
	return lines;
}

/* The file name as printed: its valid UTF-8 characters, '?' for every byte that is not one
 * or is a control byte (cairo draws UTF-8 only), cut at cap - 1 bytes on a character. */
static void shown_name(const char *path, char *out, size_t cap)
{
	const unsigned char *p = (const unsigned char *)path, *e = p + strlen(path);
	size_t used = 0;
	while (p < e) {
		size_t n = utf8_len(p, (size_t)(e - p));
		if (!n || *p < 0x20 || *p == 0x7f)
			n = 0;
		if (used + (n ? n : 1) >= cap)
			break;
		if (n)
			memcpy(out + used, p, n), used += n, p += n;
		else
			out[used++] = '?', p++;
	}
	out[used] = 0;
}

static cairo_status_t to_buf(void *closure, const unsigned char *data, unsigned int len)
{
	return buf_add(closure, data, len) ? CAIRO_STATUS_WRITE_ERROR : CAIRO_STATUS_SUCCESS;
}

/* The two faces of every print, loaded from their files once (print_fonts_load). */
static FT_Library ft;
static cairo_font_face_t *face_sans, *face_mono;

int print_fonts_load(void)
{
	FT_Face fs, fm;
	if (face_sans)
		return 0;
	if (FT_Init_FreeType(&ft))
		return err_set(ERR_IO, "print: cannot start FreeType");
	if (FT_New_Face(ft, PRINT_FONT_SANS, 0, &fs) || FT_New_Face(ft, PRINT_FONT_MONO, 0, &fm))
		return err_set(ERR_IO, "print: cannot load the fonts %s and %s (package fonts-dejavu-core)",
			       PRINT_FONT_SANS, PRINT_FONT_MONO);
	face_sans = cairo_ft_font_face_create_for_ft_face(fs, 0);
	face_mono = cairo_ft_font_face_create_for_ft_face(fm, 0);
	if (cairo_font_face_status(face_sans) || cairo_font_face_status(face_mono))
		return err_set(ERR_IO, "print: cairo cannot use the fonts");
	return 0;
}

int print_draw(const struct print_sheet *sh, struct buf *pdf)
{
	cairo_surface_t *s;
	cairo_t *cr;
	char when[32], bates[48], head[900], mark[600];
	time_t t = (time_t)sh->now;
	struct tm tm;
	int r = 0;

	if (!face_sans)
		return err_set(ERR_IO, "print: the fonts are not loaded");
	s = cairo_pdf_surface_create_for_stream(to_buf, pdf, PAGE_W, PAGE_H);
	cr = cairo_create(s);
	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M UTC", &tm);
	cairo_pdf_surface_set_metadata(s, CAIRO_PDF_METADATA_TITLE, sh->name);
	cairo_pdf_surface_set_metadata(s, CAIRO_PDF_METADATA_CREATOR, "sealroom");
	for (int64_t pg = 0; pg < sh->pages; pg++) {
		size_t from = (size_t)pg * PRINT_LINES_PER_PAGE;
		print_bates_label(sh->prefix, sh->first + pg, bates, sizeof(bates));
		/* watermark first, under the text */
		snprintf(mark, sizeof(mark), "%s \xc2\xb7 %s \xc2\xb7 session %s \xc2\xb7 %s \xc2\xb7 %s", sh->reviewer,
			 sh->lab, sh->session, when, bates);
		cairo_save(cr);
		cairo_set_font_face(cr, face_sans);
		cairo_set_font_size(cr, 15);
		cairo_set_source_rgba(cr, 0, 0, 0, 0.10);
		for (int k = 0; k < 4; k++) {
			cairo_save(cr);
			cairo_translate(cr, 60, 260 + k * 190);
			cairo_rotate(cr, -0.45);
			cairo_move_to(cr, 0, 0);
			cairo_show_text(cr, mark);
			cairo_restore(cr);
		}
		cairo_restore(cr);
		/* header */
		cairo_set_font_face(cr, face_mono);
		cairo_set_font_size(cr, FONT_SIZE);
		cairo_set_source_rgb(cr, 0, 0, 0);
		snprintf(head, sizeof(head), "CONFIDENTIAL  %s@%s  %s", sh->product, sh->version, sh->name);
		cairo_move_to(cr, MARGIN, MARGIN - 12);
		cairo_show_text(cr, head);
		/* the code, with line numbers */
		for (size_t i = 0; i < PRINT_LINES_PER_PAGE && from + i < sh->n_rows; i++) {
			const struct print_sheet_row *rw = &sh->rows[from + i];
			double y = MARGIN + 8 + (double)i * LINE_H;
			if (rw->line) {
				char num[24];
				snprintf(num, sizeof(num), "%6lld", (long long)rw->line);
				cairo_set_source_rgb(cr, 0.45, 0.45, 0.45);
				cairo_move_to(cr, MARGIN, y);
				cairo_show_text(cr, num);
			}
			cairo_set_source_rgb(cr, 0, 0, 0);
			cairo_move_to(cr, MARGIN + 36, y);
			if (sh->text_layer) {
				cairo_show_text(cr, rw->text);
			} else { /* outlines only: nothing in the PDF to copy as text */
				cairo_text_path(cr, rw->text);
				cairo_fill(cr);
			}
		}
		/* footer: the Bates number */
		cairo_set_font_size(cr, 9);
		cairo_move_to(cr, PAGE_W - MARGIN - 80, PAGE_H - MARGIN + 16);
		cairo_show_text(cr, bates);
		cairo_move_to(cr, MARGIN, PAGE_H - MARGIN + 16);
		snprintf(head, sizeof(head), "page %lld of %lld \xc2\xb7 %s", (long long)pg + 1, (long long)sh->pages, when);
		cairo_show_text(cr, head);
		cairo_show_page(cr);
	}
	cairo_destroy(cr);
	cairo_surface_finish(s);
	if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS)
		r = err_set(ERR_IO, "print: cairo could not make the PDF: %s",
			    cairo_status_to_string(cairo_surface_status(s)));
	cairo_surface_destroy(s);
	return r;
}

static void bates_prefix(const char *product, char *out, size_t cap)
{
	size_t k = 0;
	for (const char *p = product; *p && k + 1 < cap && k < 16; p++)
		if (isalnum((unsigned char)*p))
			out[k++] = (char)toupper((unsigned char)*p);
	if (!k)
		out[k++] = 'S';
	out[k] = 0;
}

struct print_record {
	sqlite3 *db;
	const struct session_info *who;
	const struct grant_info *g;
	const struct print_request *req;
	struct print_info *info;
	int64_t now;
};

/* The act of print_pdf, once its entry is durable: record the print and its Bates numbers. */
static int print_record(void *ctx)
{
	struct print_record *p = ctx;
	sqlite3_stmt *st = NULL;
	int r;
	if ((r = db_prepare(p->db, "INSERT INTO prints (product, version, grant_id, session_id, login, "
				   "path, line_from, line_to, pages, bates_first, bates_last, sha256, "
				   "created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", &st)))
		return r;
	sqlite3_bind_text(st, 1, p->req->product, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, p->req->version, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, p->g->id);
	sqlite3_bind_text(st, 4, p->who->session_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, p->who->login, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, p->req->path, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 7, p->info->line_from);
	sqlite3_bind_int64(st, 8, p->info->line_to);
	sqlite3_bind_int64(st, 9, p->info->pages);
	sqlite3_bind_int64(st, 10, p->info->bates_first);
	sqlite3_bind_int64(st, 11, p->info->bates_last);
	sqlite3_bind_text(st, 12, p->info->sha256, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 13, p->now);
	r = sqlite3_step(st) == SQLITE_DONE ? 0 : db_fail(p->db, "cannot record the print");
	sqlite3_finalize(st);
	if (!r)
		p->info->id = sqlite3_last_insert_rowid(p->db);
	return r;
}

/* Bates numbers are allocated, drawn, logged and recorded one print at a time. */
static pthread_mutex_t print_lock = PTHREAD_MUTEX_INITIALIZER;

int print_pdf(struct facility *f, const struct session_info *who, const struct grant_info *g,
	      const struct print_request *req, int64_t now, struct buf *pdf, struct print_info *info)
{
	struct rows rs = {0};
	struct quota_refusal why;
	sqlite3 *db = facility_db(f);
	sqlite3_stmt *st = NULL;
	unsigned char h[SHA256_LEN];
	char ref[600], b1[48], b2[48];
	size_t start = pdf->len;
	int64_t lines;
	int r;
	json_t *x;

	memset(info, 0, sizeof(*info));
	if (!req->len)
		return err_set(ERR_USAGE, "print: nothing to print");
	lines = layout(req->text, req->len, req->line_from, &rs);
	if (lines > PRINT_LINES_MAX) {
		rows_release(&rs);
		return err_set(ERR_TOOBIG, "print: %lld lines is too many for one print (limit %d)",
			       (long long)lines, PRINT_LINES_MAX);
	}
	info->line_from = req->line_from;
	info->line_to = req->line_from + lines - 1;
	info->pages = (int64_t)((rs.n + PRINT_LINES_PER_PAGE - 1) / PRINT_LINES_PER_PAGE);
	bates_prefix(req->product, info->bates_prefix, sizeof(info->bates_prefix));
	{ /* every printed line is charged, shown on screen before or not */
		struct quota_line *ql = xcalloc((size_t)lines, sizeof(*ql));
		struct quota_ask a = {QUOTA_PRINT, ql, 0, info->pages};
		const char *p = req->text, *e = req->text + req->len;
		while (p < e && a.n_lines < (size_t)lines) {
			const char *nl = memchr(p, '\n', (size_t)(e - p));
			size_t ll = nl ? (size_t)(nl - p) : (size_t)(e - p);
			ql[a.n_lines] = (struct quota_line){g, req->blob, req->path, (uint64_t)req->line_from + a.n_lines, ll};
			a.n_lines++;
			p += ll + (nl != NULL);
		}
		r = req->blob ? quota_charge(f, who, g, &a, now, &why) : err_set(ERR_USAGE, "print: no blob id");
		free(ql);
		if (r) {
			rows_release(&rs);
			return r;
		}
	}
	pthread_mutex_lock(&print_lock);
	if ((r = db_prepare(db, "SELECT coalesce(max(bates_last), 0) FROM prints WHERE product = ? "
				"AND version = ?", &st)))
		goto out;
	sqlite3_bind_text(st, 1, req->product, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, req->version, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW) {
		r = db_fail(db, "prints");
		goto out;
	}
	info->bates_first = sqlite3_column_int64(st, 0) + 1;
	info->bates_last = info->bates_first + info->pages - 1;
	sqlite3_finalize(st);
	st = NULL;
	{
		/* drawn by the release's print worker: the room runs neither cairo nor FreeType on it */
		char name[512];
		struct print_sheet sh = {req->product, req->version, name, req->reviewer ? req->reviewer : who->login,
					 req->lab ? req->lab : who->org, who->session_id, info->bates_prefix,
					 req->text_layer, info->pages, info->bates_first, now, rs.r, rs.n};
		shown_name(req->path, name, sizeof(name));
		if (!req->pd)
			r = err_set(ERR_IO, "print: no print worker");
		else
			r = printd_draw(req->pd, &sh, pdf);
		if (r)
			goto out;
	}
	if (pdf->len - start > PRINT_PDF_MAX) {
		r = err_set(ERR_TOOBIG, "print: the PDF is too large");
		goto out;
	}
	sha256(pdf->p + start, pdf->len - start, h);
	hex_encode(info->sha256, h, sizeof(h));
	/* log, then record: the entry is durable before the print exists and before the PDF
	 * leaves */
	snprintf(ref, sizeof(ref), "%s@%s", req->product, req->version);
	print_bates_label(info->bates_prefix, info->bates_first, b1, sizeof(b1));
	print_bates_label(info->bates_prefix, info->bates_last, b2, sizeof(b2));
	x = json_object();
	logdb_entry_str(x, "session", who->session_id);
	logdb_entry_str(x, "release", ref);
	logdb_entry_str(x, "path", req->path);
	logdb_entry_int(x, "from", info->line_from);
	logdb_entry_int(x, "to", info->line_to);
	logdb_entry_int(x, "pages", info->pages);
	logdb_entry_str(x, "bates_first", b1);
	logdb_entry_str(x, "bates_last", b2);
	logdb_entry_str(x, "sha256", info->sha256);
	logdb_entry_int(x, "time", now);
	{
		struct print_record pr = {db, who, g, req, info, now};
		r = auth_log_then(f, "print", who->login, x, print_record, &pr);
	}
out:
	pthread_mutex_unlock(&print_lock);
	sqlite3_finalize(st);
	rows_release(&rs);
	if (r) {
		pdf->len = start;
		if (pdf->p)
			pdf->p[start] = 0;
	}
	return r;
}

int print_dispute(struct facility *f, int64_t id, const struct policy_actor *a, const char *reason, int64_t now)
{
	sqlite3 *db = facility_db(f);
	sqlite3_stmt *st = NULL;
	char product[RELEASE_NAME_MAX + 1] = "", version[RELEASE_NAME_MAX + 1] = "";
	int r, disputed = 0;
	json_t *x;

	if ((r = db_prepare(db, "SELECT product, version, disputed_at IS NOT NULL FROM prints WHERE id = ?", &st)))
		goto out;
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) != SQLITE_ROW) {
		r = err_set(ERR_NOTFOUND, "no print %lld", (long long)id);
		goto out;
	}
	snprintf(product, sizeof(product), "%s", (const char *)sqlite3_column_text(st, 0));
	snprintf(version, sizeof(version), "%s", (const char *)sqlite3_column_text(st, 1));
	disputed = sqlite3_column_int(st, 2);
	sqlite3_finalize(st);
	st = NULL;
	/* the vendor's word: a signed decision for this release (or an in-process vendor) */
	if ((r = policy_vendor_authority(f, a, product, version)))
		goto out;
	if (disputed) {
		r = err_set(ERR_EXISTS, "print %lld is already disputed", (long long)id);
		goto out;
	}
	x = json_pack("{s:I,s:s}", "print", (json_int_t)id, "reason", reason ? reason : "");
	json_object_set_new(x, "release", json_sprintf("%s@%s", product, version));
	json_object_set_new(x, "time", json_integer(now));
	if (a->decision)
		json_object_set_new(x, "decision", json_string(a->decision));
	if ((r = auth_log(f, "print_dispute", a->login, x)))
		goto out;
	if ((r = db_prepare(db, "UPDATE prints SET disputed_at = ?, disputed_by = ?, dispute_reason = ? "
				"WHERE id = ?", &st)))
		goto out;
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_text(st, 2, a->login, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, reason ? reason : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, id);
	r = sqlite3_step(st) == SQLITE_DONE ? 0 : db_fail(db, "cannot mark the print disputed");
out:
	sqlite3_finalize(st);
	return r;
}

int print_each(struct facility *f, const char *product, const char *version,
	       int (*fn)(void *ctx, const struct print_row *p), void *ctx)
{
	sqlite3 *db = facility_db(f);
	sqlite3_stmt *st;
	int r;
	if ((r = db_prepare(db, "SELECT id, login, session_id, path, sha256, dispute_reason, line_from, "
				"line_to, pages, bates_first, bates_last, created_at, "
				"coalesce(disputed_at, 0) FROM prints WHERE product = ? AND version = ? "
				"ORDER BY id", &st)))
		return r;
	sqlite3_bind_text(st, 1, product, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, version, -1, SQLITE_STATIC);
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		struct print_row p;
		memset(&p, 0, sizeof(p));
		p.id = sqlite3_column_int64(st, 0);
		snprintf(p.login, sizeof(p.login), "%s", (const char *)sqlite3_column_text(st, 1));
		snprintf(p.session_id, sizeof(p.session_id), "%s", (const char *)sqlite3_column_text(st, 2));
		p.product = product;
		p.version = version;
		p.path = (const char *)sqlite3_column_text(st, 3);
		p.sha256 = (const char *)sqlite3_column_text(st, 4);
		p.dispute_reason = (const char *)sqlite3_column_text(st, 5);
		p.line_from = sqlite3_column_int64(st, 6);
		p.line_to = sqlite3_column_int64(st, 7);
		p.pages = sqlite3_column_int64(st, 8);
		p.bates_first = sqlite3_column_int64(st, 9);
		p.bates_last = sqlite3_column_int64(st, 10);
		p.created_at = sqlite3_column_int64(st, 11);
		p.disputed_at = sqlite3_column_int64(st, 12);
		if (!p.path || !p.sha256 || !p.dispute_reason) {
			r = err_set(ERR_CORRUPT, "print %lld is damaged", (long long)p.id);
			break;
		}
		if ((r = fn(ctx, &p)))
			break;
	}
	if (r == SQLITE_DONE)
		r = 0;
	else if (r > 0)
		r = db_fail(db, "reading prints");
	sqlite3_finalize(st);
	return r;
}
