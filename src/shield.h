/*
 * shield: issue 7's modules plugged into the one renderer (render.h's struct render_hooks).
 *
 *   quota      quota_charge: the lines of the view, search or diff (and one request)
 *   transform  the session's cipher (cipherfont.h): code goes out as private-use code points
 *   head       <link rel="stylesheet" href="/s/room.css">
 *   overlay    <div class="sr-watermark">: the visible watermark, a fixed click-through layer
 *   mark       nothing in the HTML: room.css gives div.code the session's forensic tile
 *   image      both marks drawn into the pixels of an image the file view shows
 *   asset      /s/room.css, /s/code.ttf (the session's font), /s/mark.png (the forensic
 *              tile), /s/watermark.svg (the visible watermark, with the current time)
 *
 * The per-session state (cipher, font, tile) is made on a session's first request and
 * cached (at most SHIELD_CACHE sessions, the oldest dropped first). A shield owns its own
 * handle on the facility and is safe to use from many threads.
 *
 * To wire it in: shield_new(dir, &s); serve_config.hooks = shield_hooks(s); ... after the
 * server stopped, shield_free(s).
 */
#ifndef SEALROOM_SHIELD_H
#define SEALROOM_SHIELD_H

#include "auth.h"
#include "buf.h"
#include "err.h"
#include "render.h"

#define SHIELD_CACHE 512
/* The code background the forensic tile is drawn on (app.css --code-bg, within the tile's
 * headroom) */
#define SHIELD_CODE_BG 0xfafafa

struct shield;

/* Open the facility at dir for the hooks (its forensic keys, the font). */
int shield_new(const char *dir, struct shield **out) WUR;
void shield_free(struct shield *s);

/* The hooks, with s as their ctx; valid until shield_free. */
const struct render_hooks *shield_hooks(struct shield *s);

/* The session's code text as the browser gets it (what the transform hook does). */
int shield_encode(struct shield *s, const struct session_info *who, const char *p, size_t len,
		  struct buf *out) WUR;

#endif
