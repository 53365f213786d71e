/* check.h — the unit tests' assertion macros: a failed check prints where and
 * counts; main exits 1 when any failed. */
#ifndef DL_CHECK_H
#define DL_CHECK_H

#include <stdio.h>

extern int check_failures;

#define CHECK(cond)                                                                       \
	do {                                                                              \
		if (!(cond)) {                                                            \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
			check_failures++;                                                 \
		}                                                                         \
	} while (0)

#define CHECK_EQ(a, b)                                                                          \
	do {                                                                                    \
		long long a_ = (long long)(a), b_ = (long long)(b);                              \
		if (a_ != b_) {                                                                 \
			fprintf(stderr, "%s:%d: %s = %lld, want %lld\n", __FILE__, __LINE__, #a, a_, b_); \
			check_failures++;                                                       \
		}                                                                               \
	} while (0)

#endif
