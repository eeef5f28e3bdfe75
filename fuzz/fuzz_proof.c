/* fuzz_proof: tlog-proof text, and proofs with hostile sizes and indexes, must be rejected
 * cleanly: parse the text, then verify what parsed against arbitrary tree sizes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tlog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char proof[TLOG_MAX_PROOF][TLOG_HASH_LEN], leaf[32], root[32] = {0};
	struct str note;
	uint64_t idx, sizes[3];
	size_t n;
	memset(leaf, 1, sizeof(leaf)); /* differs from the root, so a proof-less size-1 tree fails too */
	if (tlog_proof_parse((const char *)data, size, &idx, proof, &n, &note) == 0) {
		if (n > TLOG_MAX_PROOF || note.len > size)
			abort();
		sizes[0] = idx + 1;
		sizes[1] = idx * 2 + 3;
		sizes[2] = UINT64_MAX;
		for (int i = 0; i < 3; i++) {
			if (tlog_verify_inclusion(idx, sizes[i], leaf, 32, (const unsigned char (*)[32])proof, n, root, 32) == 0)
				abort(); /* an all-zero root cannot be reached */
			if (tlog_verify_consistency(idx, sizes[i], root, 32, root, 32, (const unsigned char (*)[32])proof, n) == 0 &&
			    !(idx == sizes[i] && n == 0))
				abort();
		}
	}
	/* raw bytes as a proof: sizes from the first 16 bytes, hashes from the rest */
	if (size >= 16) {
		uint64_t a, b;
		size_t k = (size - 16) / 32;
		memcpy(&a, data, 8);
		memcpy(&b, data + 8, 8);
		if (k > TLOG_MAX_PROOF)
			k = TLOG_MAX_PROOF;
		memcpy(proof, data + 16, k * 32);
		(void)!tlog_verify_inclusion(a, b, leaf, 32, (const unsigned char (*)[32])proof, k, root, 32);
		(void)!tlog_verify_consistency(a, b, leaf, 32, root, 32, (const unsigned char (*)[32])proof, k);
	}
	return 0;
}
