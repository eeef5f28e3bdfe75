/*
 * fuzz_printd: a print worker's request (printd_request_decode) must be refused with a
 * message, or give a sheet whose pages are its rows' and which encodes again to the same
 * bytes. Built with -DFUZZ_PRINTD_SEEDS it writes a few real requests into the folder
 * argv[1] (how fuzz/corpus/fuzz_printd was made).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "printd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct print_sheet s;
	struct print_sheet_row *rows = NULL;
	struct buf again;
	buf_init(&again, (size_t)64 << 20);
	if (printd_request_decode(data, size, &s, &rows) == 0) {
		if (s.pages != (int64_t)((s.n_rows + PRINT_LINES_PER_PAGE - 1) / PRINT_LINES_PER_PAGE) ||
		    printd_request_encode(&s, &again) || again.len != size || memcmp(again.p, data, size))
			abort();
		printd_request_free(rows, s.n_rows);
	} else if (!*err_msg() || rows) {
		abort();
	}
	buf_release(&again);
	return 0;
}

#ifdef FUZZ_PRINTD_SEEDS
int main(int argc, char **argv)
{
	static struct print_sheet_row r[3] = {{1, "int x;"}, {0, "  continued"}, {2, ""}};
	struct print_sheet s[3] = {
		{"fw", "1.0", "a.c", "Rita", "lab", "00000000000000c1", "FW", 1, 1, 1, 1900000000, r, 3},
		{"", "", "", "", "", "", "", 0, 0, 0, 0, r, 0},
		{"p", "v", "caf\xc3\xa9.c", "R", "L", "s", "P", 0, 1, 7, 5, r, 1},
	};
	struct buf b;
	buf_init(&b, 1 << 20);
	for (int i = 0; i < 3 && argc > 1; i++) {
		char path[512];
		FILE *f;
		snprintf(path, sizeof(path), "%s/seed%d", argv[1], i);
		if (printd_request_encode(&s[i], &b) || !(f = fopen(path, "wb")))
			return 1;
		fwrite(b.p, 1, b.len, f);
		fclose(f);
	}
	buf_release(&b);
	return 0;
}
#endif
