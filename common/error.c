/*
 * error.c: SgError, the one error value of shardgate. Every fallible function
 * fills one; the gateway turns it into an ErrorResponse.
 */
#include "common/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static bool
error_vset(SgError *err, const char *severity, const char *sqlstate, const char *fmt, va_list ap)
{
	memset(err, 0, sizeof(*err));
	snprintf(err->severity, sizeof(err->severity), "%s", severity);
	snprintf(err->sqlstate, sizeof(err->sqlstate), "%s", sqlstate);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	return false;
}

bool
sg_error_set(SgError *err, const char *sqlstate, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	error_vset(err, "ERROR", sqlstate, fmt, ap);
	va_end(ap);
	return false;
}

bool
sg_error_fatal(SgError *err, const char *sqlstate, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	error_vset(err, "FATAL", sqlstate, fmt, ap);
	va_end(ap);
	return false;
}

void
sg_error_detail(SgError *err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->detail, sizeof(err->detail), fmt, ap);
	va_end(ap);
}

void
sg_error_hint(SgError *err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->hint, sizeof(err->hint), fmt, ap);
	va_end(ap);
}

void
sg_error_clear(SgError *err)
{
	memset(err, 0, sizeof(*err));
}

bool
sg_error_is_set(const SgError *err)
{
	return err->sqlstate[0] != '\0';
}
