/*
 * le: the little-endian fixed-width fields of the project's own binary formats (the vault's
 * packs and manifest, the search index, the cross-references; docs/formats.md). One copy,
 * inline, for the hot loops that decode them.
 */
#ifndef SEALROOM_LE_H
#define SEALROOM_LE_H

#include <stdint.h>

static inline void put32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static inline void put64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static inline uint32_t get32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t get64(const unsigned char *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

#endif
