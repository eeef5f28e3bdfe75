/*
 * imaged: the decoding of an opened release's images (PNG, JPEG, GIF, WebP) for the file
 * view, in a process of its own.
 *
 * Image decoders (libpng, libjpeg, giflib, libwebp) are parsers of a long record of memory
 * bugs, and a sealed tree's images are the vendor's bytes: the room does not run them next
 * to the data keys, the log key and the database. Each opened release has an image worker
 * (worker.h), started by its first image, that holds nothing but the image each request
 * hands it, sandboxed as every worker is, under the front's seccomp filter (no executable
 * memory). It decodes the image and scales it to the side asked for (image.h) and answers
 * with the size and the pixels; the room checks the sizes (within image.h's limits, and the
 * scaled size exactly what image_fit_size makes of the decoded one) before it marks,
 * encodes, charges, logs and shows them. A refusal is shown only when it is one of image.h's
 * own messages (image_reason_known); one whose numbers the room cannot check is shown with
 * the limits alone. A worker that crashes, answers what does not hold, or does not answer
 * within IMAGED_TIMEOUT_MS is killed: the file is shown as an image not decoded, and the
 * next image starts a new worker (at most WORKER_RESTARTS a minute).
 */
#ifndef SEALROOM_IMAGED_H
#define SEALROOM_IMAGED_H

#include <stddef.h>

#include "buf.h"
#include "err.h"

#define IMAGED_ARG "--image-worker"
#define IMAGED_CHANNELS 2
#define IMAGED_TIMEOUT_MS 10000
#define IMAGED_SIDE_MAX 4096 /* the largest side a request may ask for */

struct imaged;

/* A release's image decoding; its worker starts with the first image. */
struct imaged *imaged_new(void);
/*
 * Decode (p, len) in the worker and scale it to at most side pixels a side: *rgb (free()
 * it, after wiping) holds *w x *h x 3 bytes, *w0 x *h0 the decoded size. ERR_PARSE or
 * ERR_TOOBIG with image.h's message for a file the decoders refuse; ERR_IO when the worker
 * failed (it is killed); ERR_BUSY when its channels stayed busy.
 */
int imaged_decode(struct imaged *d, const void *p, size_t len, int side, unsigned char **rgb, int *w0, int *h0,
		  int *w, int *h) WUR;
/* Kill the worker and start none again (the release was closed). Idempotent. */
void imaged_kill(struct imaged *d);
void imaged_free(struct imaged *d);

/*
 * The messages. A request: "SRi1", u32 side, u32 n, the n bytes of the file. An answer:
 * "SRI1", u8 1, u32 w0, u32 h0, u32 w, u32 h, w x h x 3 bytes of pixels; or "SRI1", u8 0,
 * u8 -error, u16 n, n bytes of message. Decoding an answer checks every field and that
 * nothing is left over (ERR_CORRUPT: the worker failed); a refusal gives its error with its
 * message as the room shows it.
 */
int imaged_request_encode(const void *p, size_t len, int side, struct buf *out) WUR;
int imaged_request_decode(const void *msg, size_t len, const unsigned char **p, size_t *n, int *side) WUR;
int imaged_answer_decode(const void *msg, size_t len, int side, unsigned char **rgb, int *w0, int *h0, int *w,
			 int *h) WUR;

/* The worker's side (from the module's constructor); never returns. */
void imaged_exec(void) __attribute__((noreturn));

#endif
