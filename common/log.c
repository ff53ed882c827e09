/*
 * log.c: levelled logging to stderr with a timestamp and an actor prefix.
 * Never pass passwords, SCRAM material or row values here.
 */
#include "common/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

LogLevel sg_log_level = LOG_INFO;

static const char *const level_names[] = {"ERROR", "WARNING", "INFO", "DEBUG"};

void
sg_log_set_level(LogLevel level)
{
	sg_log_level = level;
}

bool
sg_log_level_parse(const char *s, LogLevel *out)
{
	static const char *const names[] = {"error", "warning", "info", "debug"};
	for (size_t i = 0; i < SG_ARRAY_LEN(names); i++) {
		if (strcmp(s, names[i]) == 0) {
			*out = (LogLevel)i;
			return true;
		}
	}
	return false;
}

void
sg_log_write(LogLevel level, const char *actor, const char *fmt, ...)
{
	if (level > sg_log_level)
		return;
	char line[1024];
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	int n =
	    snprintf(line, sizeof(line), "%04d-%02d-%02d %02d:%02d:%02d.%03ld UTC %s: %s%s",
	             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
	             ts.tv_nsec / 1000000, level_names[level], actor ? actor : "", actor ? ": " : "");
	if (n < 0 || (size_t)n >= sizeof(line))
		n = 0;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s\n", line);
}
