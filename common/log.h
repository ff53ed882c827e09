#ifndef SG_COMMON_LOG_H
#define SG_COMMON_LOG_H

#include <stdbool.h>

#include "common/macros.h"

/* Levels, most severe first. sg_log_level is set once before the loops start. */
typedef enum LogLevel { LOG_ERROR = 0, LOG_WARNING, LOG_INFO, LOG_DEBUG } LogLevel;

extern LogLevel sg_log_level;

void sg_log_set_level(LogLevel level);
/* sg_log_level_parse: "error"|"warning"|"info"|"debug" -> level; false if unknown */
SG_MUSTCHECK bool sg_log_level_parse(const char *s, LogLevel *out);
/* sg_log_write: actor is a short prefix ("session 12", "node 2", "gid sg_..."), may be NULL */
void sg_log_write(LogLevel level, const char *actor, const char *fmt, ...) SG_PRINTF(3, 4);

#define sg_log_error(actor, ...) sg_log_write(LOG_ERROR, (actor), __VA_ARGS__)
#define sg_log_warning(actor, ...) sg_log_write(LOG_WARNING, (actor), __VA_ARGS__)
#define sg_log_info(actor, ...)                                                                    \
	do {                                                                                           \
		if (sg_log_level >= LOG_INFO)                                                              \
			sg_log_write(LOG_INFO, (actor), __VA_ARGS__);                                          \
	} while (0)
#define sg_log_debug(actor, ...)                                                                   \
	do {                                                                                           \
		if (SG_UNLIKELY(sg_log_level >= LOG_DEBUG))                                                \
			sg_log_write(LOG_DEBUG, (actor), __VA_ARGS__);                                         \
	} while (0)

#endif /* SG_COMMON_LOG_H */
