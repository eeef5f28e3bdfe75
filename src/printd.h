/*
 * printd: the drawing of an opened release's prints (PDF), in a process of its own.
 *
 * A print is drawn by cairo with FreeType's fonts: a large body of code the room does not
 * run next to the data keys, the log key and the database. Each opened release has a print
 * worker (worker.h), started by its first print, that loads the two fonts of every print
 * from their files before its sandbox (print_fonts_load) and then holds nothing but the
 * sheet each request hands it: the printed rows (already charged to the reader's budget),
 * the names of its watermark, header and footer. It is sandboxed as every worker is, under
 * the front's seccomp filter. It answers the PDF. The room cannot check a PDF's drawing: it
 * takes an answer that is a PDF ("%PDF-" first) of at most PRINT_PDF_MAX bytes, logs its
 * SHA-256 with the print, and hands it over. A worker that crashes, answers anything else,
 * or does not answer within PRINTD_TIMEOUT_MS is killed: the print fails (nothing is
 * recorded or logged as printed, and the lines stay charged), and the next print starts a
 * new worker.
 */
#ifndef SEALROOM_PRINTD_H
#define SEALROOM_PRINTD_H


#include "buf.h"
#include "err.h"
#include "print.h"

#define PRINTD_ARG "--print-worker"
#define PRINTD_CHANNELS 2
#define PRINTD_TIMEOUT_MS 60000

struct printd;

/* A release's prints; its worker starts with the first print. */
struct printd *printd_new(void);
/* Draw s in the worker: the PDF appended to pdf. ERR_IO when the worker failed (it is
 * killed), ERR_BUSY when its channels stayed busy. */
int printd_draw(struct printd *d, const struct print_sheet *s, struct buf *pdf) WUR;
/* Kill the worker and start none again (the release was closed). Idempotent. */
void printd_kill(struct printd *d);
void printd_free(struct printd *d);

/*
 * The messages (docs/formats.md "The print worker"). A request: the sheet; decoding checks
 * every field and that nothing is left over, and that the pages are the rows' (ERR_PARSE);
 * the sheet's strings and rows are copies, freed by printd_request_free(*rows, s->n_rows).
 * An answer: "SRP1", then the PDF.
 */
int printd_request_encode(const struct print_sheet *s, struct buf *out) WUR;
int printd_request_decode(const void *msg, size_t len, struct print_sheet *s, struct print_sheet_row **rows) WUR;
void printd_request_free(struct print_sheet_row *rows, size_t n);

/* The worker's side (from the module's constructor); never returns. */
void printd_exec(void) __attribute__((noreturn));

#endif
