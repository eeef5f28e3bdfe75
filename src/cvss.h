/*
 * cvss: CVSS v3.1 base vectors and scores (FIRST, "CVSS v3.1 Specification", section 7),
 * and the qualitative severity scale.
 *
 * A vector is "CVSS:3.1/" followed by the eight base metrics AV, AC, PR, UI, S, C, I, A,
 * each exactly once, in any order; temporal and environmental metrics are refused (the
 * room scores what the code is, not a deployment). Scores are kept in tenths (0..100) so
 * that no floating point leaves this module; the computation follows the specification's
 * formulas, Roundup included, in integer arithmetic where the specification asks for it.
 */
#ifndef SEALROOM_CVSS_H
#define SEALROOM_CVSS_H

#include <stddef.h>

#include "err.h"

#define CVSS_VECTOR_MAX 64

/*
 * Parse vector (len bytes); on success the canonical vector (metrics in the
 * specification's order) goes to canon (CVSS_VECTOR_MAX + 1 bytes) and the base score in
 * tenths to *score10. ERR_PARSE "cvss: ..." naming what is wrong.
 */
int cvss_parse(const char *vector, size_t len, char *canon, int *score10) WUR;
/* The qualitative rating of a score in tenths: none, low, medium, high, critical. */
const char *cvss_rating(int score10);
/* Is s one of low, medium, high, critical? */
int cvss_is_rating(const char *s);

#endif
