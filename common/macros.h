#ifndef SG_COMMON_MACROS_H
#define SG_COMMON_MACROS_H

#include <stdio.h>
#include <stdlib.h>

#define SG_MUSTCHECK __attribute__((warn_unused_result))
#define SG_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define SG_UNUSED __attribute__((unused))
#define SG_LIKELY(x) __builtin_expect(!!(x), 1)
#define SG_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define SG_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* SG_ASSERT: a bug, not an input error. Aborts with file and line. */
#define SG_ASSERT(cond)                                                                            \
	do {                                                                                           \
		if (SG_UNLIKELY(!(cond))) {                                                                \
			fprintf(stderr, "%s:%d: assertion failed: %s\n", __FILE__, __LINE__, #cond);           \
			abort();                                                                               \
		}                                                                                          \
	} while (0)

#define SG_UNREACHABLE()                                                                           \
	do {                                                                                           \
		fprintf(stderr, "%s:%d: unreachable\n", __FILE__, __LINE__);                               \
		abort();                                                                                   \
	} while (0)

#endif /* SG_COMMON_MACROS_H */
