/* fuzz_checkpoint: checkpoints, tile paths and cosignatures arrive from witnesses, exported
 * folders and HTTP clients. Parsing them must never crash, and what parses must re-format. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "tlog.h"
#include "witness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct witness_verifier *w;
	struct tlog_checkpoint c;
	struct buf b;
	struct str line;
	uint64_t t, idx;
	unsigned width;
	int level;
	char *s;
	if (!w) {
		static const char vk[] = "auditor.example+ad8a082e+BPV7NC/tRQaqN1akOsD9NUiWpy5x+q/HiFkAn5IGiIfP";
		if (sodium_init() < 0)
			abort();
		if (witness_verifier_parse(vk, strlen(vk), &w))
			abort();
	}
	if (tlog_checkpoint_parse((const char *)data, size, &c) == 0) {
		if (c.origin.len > size || c.size > TLOG_MAX_SIZE)
			abort();
		buf_init(&b, 1 << 20);
		if (tlog_checkpoint_format(&b, "o", c.size, c.root))
			abort();
		buf_release(&b);
	}
	if (w && witness_check(w, (const char *)data, size, &line, &t) == 0 && line.len > size)
		abort();
	s = malloc(size + 1);
	memcpy(s, data, size);
	s[size] = 0;
	if (tlog_tile_path_parse(s, &level, &idx, &width) == 0 && (level > 63 || width > 256 || !width))
		abort();
	free(s);
	return 0;
}
