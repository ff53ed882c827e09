/*
 * pghash.c: PostgreSQL-compatible hashing of distribution-column values.
 *
 * A distributed table's shard for a value is chosen exactly as PostgreSQL
 * hash partitioning chooses a partition, so this file reproduces, bit for
 * bit, what a PostgreSQL 15 server on a little-endian machine computes:
 *
 *   - pghash_bytes_extended / pghash_uint32_extended: Bob Jenkins' lookup3
 *     as adapted in src/common/hashfn.c (hash_bytes_extended and
 *     hash_bytes_uint32_extended), 64-bit result ((b << 32) | c), with the
 *     seed mixed in first when non-zero. PostgreSQL reads the key as
 *     native-endian 32-bit words; we assemble them little-endian byte by
 *     byte, which is what x86-64 and arm64 servers compute.
 *   - the per-type extended hash function of the type's default hash
 *     opclass (pg_amproc procnum 2), called with HASH_PARTITION_SEED:
 *       bool                   hashcharextended   (uint32 of 0/1)
 *       int2, int4, date       hashint2/4extended (uint32 of the int32)
 *       int8, timestamp(tz)    hashint8extended   (lo ^= (v >= 0) ? hi : ~hi)
 *       text, varchar          hashtextextended   (the bytes; deterministic
 *                                                  collation assumed)
 *       bpchar                 hashbpcharextended (bytes, trailing blanks cut)
 *       uuid                   uuid_hash_extended (the 16 bytes)
 *
 * Values arrive as text (literals, text-format parameters) or in binary
 * (binary-format parameters). Text parsing follows PostgreSQL's input
 * functions and their error messages and SQLSTATEs: int2/int4/int8 as
 * pg_strtoint16/32/64, bool as boolin, uuid as uuid_in. Date and timestamp
 * input in PostgreSQL is large and depends on DateStyle and TimeZone; we
 * parse only the unambiguous ISO 8601 forms (see pghash_parse_datetime) and
 * refuse anything else with 0A000, so a value is never routed by a guess.
 *
 * Invariant: no state, no allocation; every function is pure and may run
 * anywhere, including inside callbacks.
 */
#include "storage/pghash.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 22P03: a binary parameter of the wrong size for its type */
#define PGHASH_SQLSTATE_INVALID_BINARY "22P03"
/* 22007 / 22008 / 22009: PostgreSQL's date/time input errors */
#define PGHASH_SQLSTATE_INVALID_DATETIME "22007"
#define PGHASH_SQLSTATE_DATETIME_OVERFLOW "22008"
#define PGHASH_SQLSTATE_TZ_DISPLACEMENT "22009"

#define PGHASH_UUID_LEN 16
/* date2j(2000, 1, 1): PostgreSQL dates and timestamps count from 2000-01-01 */
#define PGHASH_PG_EPOCH_JDATE 2451545
#define PGHASH_USECS_PER_DAY INT64_C(86400000000)
/* the largest year whose timestamps are in range (294276 AD); beyond it we defer to the node */
#define PGHASH_MAX_TIMESTAMP_YEAR 294276
/* PostgreSQL rejects a numeric time zone offset of 16 hours or more */
#define PGHASH_MAX_TZ_HOUR 15

/* ---- lookup3, as in src/common/hashfn.c ---- */

static inline uint32_t
pghash_rot(uint32_t x, int k)
{
	return (x << k) | (x >> (32 - k));
}

/* pghash_mix: hashfn.c's mix(a, b, c), reversible mixing of three words */
static inline void
pghash_mix(uint32_t *a, uint32_t *b, uint32_t *c)
{
	*a -= *c;
	*a ^= pghash_rot(*c, 4);
	*c += *b;
	*b -= *a;
	*b ^= pghash_rot(*a, 6);
	*a += *c;
	*c -= *b;
	*c ^= pghash_rot(*b, 8);
	*b += *a;
	*a -= *c;
	*a ^= pghash_rot(*c, 16);
	*c += *b;
	*b -= *a;
	*b ^= pghash_rot(*a, 19);
	*a += *c;
	*c -= *b;
	*c ^= pghash_rot(*b, 4);
	*b += *a;
}

/* pghash_final: hashfn.c's final(a, b, c), final avalanche into b and c */
static inline void
pghash_final(uint32_t *a, uint32_t *b, uint32_t *c)
{
	*c ^= *b;
	*c -= pghash_rot(*b, 14);
	*a ^= *c;
	*a -= pghash_rot(*c, 11);
	*b ^= *a;
	*b -= pghash_rot(*a, 25);
	*c ^= *b;
	*c -= pghash_rot(*b, 16);
	*a ^= *c;
	*a -= pghash_rot(*c, 4);
	*b ^= *a;
	*b -= pghash_rot(*a, 14);
	*c ^= *b;
	*c -= pghash_rot(*b, 24);
}

static inline uint32_t
pghash_le32(const unsigned char *k)
{
	return (uint32_t)k[0] | ((uint32_t)k[1] << 8) | ((uint32_t)k[2] << 16) | ((uint32_t)k[3] << 24);
}

/*
 * pghash_bytes_extended is PostgreSQL's hash_bytes_extended(k, len, seed) as
 * computed on a little-endian server. PostgreSQL takes the length as an int,
 * so only the low 32 bits of len enter the initial state (as there).
 */
uint64_t
pghash_bytes_extended(const unsigned char *k, size_t len, uint64_t seed)
{
	uint32_t a, b, c;
	size_t left = len;

	a = b = c = 0x9e3779b9 + (uint32_t)len + 3923095;
	if (seed != 0) {
		/* the seed acts as a 12-byte chunk padded with four zero bytes */
		a += (uint32_t)(seed >> 32);
		b += (uint32_t)seed;
		pghash_mix(&a, &b, &c);
	}
	while (left >= 12) {
		a += pghash_le32(k);
		b += pghash_le32(k + 4);
		c += pghash_le32(k + 8);
		pghash_mix(&a, &b, &c);
		k += 12;
		left -= 12;
	}
	/* the last 11 bytes; the lowest byte of c is reserved for the length */
	switch (left) {
	case 11:
		c += (uint32_t)k[10] << 24;
		/* fall through */
	case 10:
		c += (uint32_t)k[9] << 16;
		/* fall through */
	case 9:
		c += (uint32_t)k[8] << 8;
		/* fall through */
	case 8:
		b += (uint32_t)k[7] << 24;
		/* fall through */
	case 7:
		b += (uint32_t)k[6] << 16;
		/* fall through */
	case 6:
		b += (uint32_t)k[5] << 8;
		/* fall through */
	case 5:
		b += k[4];
		/* fall through */
	case 4:
		a += (uint32_t)k[3] << 24;
		/* fall through */
	case 3:
		a += (uint32_t)k[2] << 16;
		/* fall through */
	case 2:
		a += (uint32_t)k[1] << 8;
		/* fall through */
	case 1:
		a += k[0];
		/* fall through */
	default:
		break;
	}
	pghash_final(&a, &b, &c);
	return ((uint64_t)b << 32) | c;
}

/* pghash_uint32_extended is PostgreSQL's hash_bytes_uint32_extended(k, seed). */
uint64_t
pghash_uint32_extended(uint32_t k, uint64_t seed)
{
	uint32_t a, b, c;

	a = b = c = 0x9e3779b9 + (uint32_t)sizeof(uint32_t) + 3923095;
	if (seed != 0) {
		a += (uint32_t)(seed >> 32);
		b += (uint32_t)seed;
		pghash_mix(&a, &b, &c);
	}
	a += k;
	pghash_final(&a, &b, &c);
	return ((uint64_t)b << 32) | c;
}

/* ---- per-type hash functions (the hash opclasses' procnum 2) ---- */

/* pghash_int4: hashint4extended / hashint2extended / hashcharextended / date */
static uint64_t
pghash_int4(int32_t v)
{
	return pghash_uint32_extended((uint32_t)v, PG_HASH_PARTITION_SEED);
}

/*
 * pghash_int8: hashint8extended (also timestamp and timestamptz). The
 * high half is folded into the low half so that int8 values within the
 * int4 range hash as the same int4 (cross-type hash opfamily).
 */
static uint64_t
pghash_int8(int64_t v)
{
	uint64_t u = (uint64_t)v;
	uint32_t lohalf = (uint32_t)u;
	uint32_t hihalf = (uint32_t)(u >> 32);

	lohalf ^= (v >= 0) ? hihalf : ~hihalf;
	return pghash_uint32_extended(lohalf, PG_HASH_PARTITION_SEED);
}

/* pghash_text: hashtextextended under a deterministic collation */
static uint64_t
pghash_text(const char *data, size_t len)
{
	return pghash_bytes_extended((const unsigned char *)data, len, PG_HASH_PARTITION_SEED);
}

/* pghash_bpchar: hashbpcharextended, trailing blanks are not significant */
static uint64_t
pghash_bpchar(const char *data, size_t len)
{
	while (len > 0 && data[len - 1] == ' ')
		len--;
	return pghash_text(data, len);
}

/* ---- text input, as PostgreSQL's input functions ---- */

/* pghash_is_space: isspace() in the C locale, as PostgreSQL's scanners use */
static bool
pghash_is_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\v' || ch == '\f';
}

static bool
pghash_is_digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

static int
pghash_hex_value(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

static char
pghash_lower(char ch)
{
	return (ch >= 'A' && ch <= 'Z') ? (char)(ch - 'A' + 'a') : ch;
}

/*
 * pghash_parse_int parses text as PostgreSQL 15's pg_strtoint16/32/64:
 * optional blanks, an optional sign, decimal digits, optional blanks.
 * Accumulates negatively so the minimum value parses; overflow is reported
 * as soon as it happens (so "99999999999x" is out of range, as in
 * PostgreSQL). typname is the SQL name used in the messages.
 */
static bool
pghash_parse_int(const char *text, int64_t min, int64_t max, const char *typname, int64_t *out,
                 SgError *err)
{
	const char *p = text;
	bool is_neg = false;
	int64_t acc = 0;

	while (*p != '\0' && pghash_is_space(*p))
		p++;
	if (*p == '-') {
		is_neg = true;
		p++;
	} else if (*p == '+') {
		p++;
	}
	if (!pghash_is_digit(*p))
		goto syntax;
	while (pghash_is_digit(*p)) {
		int digit = *p++ - '0';
		if (__builtin_mul_overflow(acc, 10, &acc) || __builtin_sub_overflow(acc, digit, &acc) ||
		    acc < min)
			goto range;
	}
	while (*p != '\0' && pghash_is_space(*p))
		p++;
	if (*p != '\0')
		goto syntax;
	if (!is_neg) {
		if (acc < -max)
			goto range;
		acc = -acc;
	}
	*out = acc;
	return true;

syntax:
	return sg_error_set(err, SQLSTATE_INVALID_TEXT_REPRESENTATION,
	                    "invalid input syntax for type %s: \"%s\"", typname, text);
range:
	return sg_error_set(err, SQLSTATE_NUMERIC_VALUE_OUT_OF_RANGE,
	                    "value \"%s\" is out of range for type %s", text, typname);
}

/* pghash_strcaseeq: s equals the lower-case word, ignoring ASCII case */
static bool
pghash_strcaseeq(const char *s, const char *word)
{
	while (*s != '\0' && pghash_lower(*s) == *word) {
		s++;
		word++;
	}
	return *s == '\0' && *word == '\0';
}

/*
 * pghash_word_prefix: the len bytes at s are a case-insensitive prefix of
 * word (PostgreSQL's pg_strncasecmp(s, word, len) == 0 for our inputs).
 */
static bool
pghash_word_prefix(const char *s, size_t len, const char *word)
{
	size_t wlen = strlen(word);

	if (len > wlen)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (pghash_lower(s[i]) != word[i])
			return false;
	}
	return true;
}

/*
 * pghash_parse_bool is boolin: blanks trimmed, then a prefix of true, false,
 * yes, no, at least two letters of on / off, or exactly 1 or 0.
 */
static bool
pghash_parse_bool(const char *text, bool *out, SgError *err)
{
	const char *s = text;
	size_t len;

	while (*s != '\0' && pghash_is_space(*s))
		s++;
	len = strlen(s);
	while (len > 0 && pghash_is_space(s[len - 1]))
		len--;
	if (len > 0) {
		switch (pghash_lower(s[0])) {
		case 't':
			if (pghash_word_prefix(s, len, "true")) {
				*out = true;
				return true;
			}
			break;
		case 'f':
			if (pghash_word_prefix(s, len, "false")) {
				*out = false;
				return true;
			}
			break;
		case 'y':
			if (pghash_word_prefix(s, len, "yes")) {
				*out = true;
				return true;
			}
			break;
		case 'n':
			if (pghash_word_prefix(s, len, "no")) {
				*out = false;
				return true;
			}
			break;
		case 'o':
			/* "o" alone is ambiguous */
			if (len >= 2 && pghash_word_prefix(s, len, "on")) {
				*out = true;
				return true;
			}
			if (len >= 2 && pghash_word_prefix(s, len, "off")) {
				*out = false;
				return true;
			}
			break;
		case '1':
			if (len == 1) {
				*out = true;
				return true;
			}
			break;
		case '0':
			if (len == 1) {
				*out = false;
				return true;
			}
			break;
		default:
			break;
		}
	}
	return sg_error_set(err, SQLSTATE_INVALID_TEXT_REPRESENTATION,
	                    "invalid input syntax for type boolean: \"%s\"", text);
}

/*
 * pghash_parse_uuid is uuid_in (string_to_uuid): 32 hex digits, optionally
 * in braces, with an optional hyphen after any group of four digits (so the
 * standard 8-4-4-4-12 form, the plain 32-digit form and others). No blanks.
 */
static bool
pghash_parse_uuid(const char *text, unsigned char uuid[PGHASH_UUID_LEN], SgError *err)
{
	const char *src = text;
	bool has_braces = false;

	if (src[0] == '{') {
		src++;
		has_braces = true;
	}
	for (int i = 0; i < PGHASH_UUID_LEN; i++) {
		int hi, lo;

		if (src[0] == '\0' || src[1] == '\0')
			goto syntax;
		hi = pghash_hex_value(src[0]);
		lo = pghash_hex_value(src[1]);
		if (hi < 0 || lo < 0)
			goto syntax;
		uuid[i] = (unsigned char)(hi << 4 | lo);
		src += 2;
		if (src[0] == '-' && (i % 2) == 1 && i < PGHASH_UUID_LEN - 1)
			src++;
	}
	if (has_braces) {
		if (*src != '}')
			goto syntax;
		src++;
	}
	if (*src != '\0')
		goto syntax;
	return true;

syntax:
	return sg_error_set(err, SQLSTATE_INVALID_TEXT_REPRESENTATION,
	                    "invalid input syntax for type uuid: \"%s\"", text);
}

/* ---- date and timestamp input: the ISO 8601 subset ---- */

/* pghash_date2j is PostgreSQL's date2j: Julian day number of a Gregorian date */
static int64_t
pghash_date2j(int64_t year, int64_t month, int64_t day)
{
	int64_t julian, century;

	if (month > 2) {
		month += 1;
		year += 4800;
	} else {
		month += 13;
		year += 4799;
	}
	century = year / 100;
	julian = year * 365 - 32167;
	julian += year / 4 - century + century / 4;
	julian += 7834 * month / 256 + day;
	return julian;
}

static bool
pghash_is_leap(int64_t year)
{
	return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
}

/*
 * pghash_digits reads between min and max decimal digits at *p into *out
 * and advances *p. False when the count is outside [min, max].
 */
static bool
pghash_digits(const char **p, int min, int max, int64_t *out)
{
	int n = 0;
	int64_t v = 0;

	while (pghash_is_digit(**p) && n < max) {
		v = v * 10 + (**p - '0');
		(*p)++;
		n++;
	}
	if (n < min || pghash_is_digit(**p))
		return false;
	*out = v;
	return true;
}

/* What pghash_parse_datetime found in a date/time literal. */
typedef enum PgDtKind {
	PGDT_VALUE,    /* an ordinary date, maybe with a time */
	PGDT_INFINITY, /* 'infinity' / '+infinity' */
	PGDT_NINFINITY /* '-infinity' */
} PgDtKind;

typedef struct PgDatetime {
	PgDtKind kind;
	int64_t days;   /* days since 2000-01-01 (PGDT_VALUE) */
	int64_t usecs;  /* time of day in microseconds, 0 when absent */
	bool has_time;  /* a time of day was given */
	bool has_zone;  /* a time zone was given */
	int64_t offset; /* the zone's offset east of UTC in seconds (has_zone) */
} PgDatetime;

/*
 * pghash_parse_zone parses a time zone suffix at p: Z, UTC, GMT (any case),
 * or a numeric offset [+-]H[H][[:]MM]. False (and *is_odd set) for forms we
 * do not handle; false with err filled for an offset PostgreSQL rejects.
 */
static bool
pghash_parse_zone(const char *p, const char *text, int64_t *offset, bool *is_odd, SgError *err)
{
	int64_t hours, minutes = 0;
	int sign;

	*is_odd = true;
	if (pghash_strcaseeq(p, "z") || pghash_strcaseeq(p, "utc") || pghash_strcaseeq(p, "gmt")) {
		*offset = 0;
		*is_odd = false;
		return true;
	}
	if (*p != '+' && *p != '-')
		return false;
	sign = *p == '-' ? -1 : 1;
	p++;
	if (pghash_is_digit(p[0]) && pghash_is_digit(p[1]) && pghash_is_digit(p[2])) {
		/* +HHMM */
		if (!pghash_digits(&p, 4, 4, &hours))
			return false;
		minutes = hours % 100;
		hours /= 100;
	} else {
		if (!pghash_digits(&p, 1, 2, &hours))
			return false;
		if (*p == ':') {
			p++;
			if (!pghash_digits(&p, 2, 2, &minutes))
				return false;
		}
	}
	if (*p != '\0')
		return false;
	*is_odd = false;
	if (hours > PGHASH_MAX_TZ_HOUR)
		return sg_error_set(err, PGHASH_SQLSTATE_TZ_DISPLACEMENT,
		                    "time zone displacement out of range: \"%s\"", text);
	if (minutes > 59)
		return sg_error_set(err, PGHASH_SQLSTATE_DATETIME_OVERFLOW,
		                    "date/time field value out of range: \"%s\"", text);
	*offset = sign * (hours * 3600 + minutes * 60);
	return true;
}

/*
 * pghash_parse_datetime parses the forms of date/timestamp input that mean
 * the same under every DateStyle and whose meaning we can compute exactly:
 *
 *   [blanks] special [blanks]  with special one of infinity, +infinity,
 *                              -infinity, epoch (any case)
 *   [blanks] YYYY-M[M]-D[D] [(T | blanks) H[H]:M[M][:S[S][.fraction]]
 *            [[blanks] zone]] [blanks]
 *
 * where YYYY has at least four digits and zone is as pghash_parse_zone.
 * Fields out of range fail as PostgreSQL does (22008); anything else
 * (other spellings, BC, 'today', named time zones, ...) fails with 0A000:
 * PostgreSQL may well accept it, but we will not guess its value.
 */
static bool
pghash_parse_datetime(const char *text, const char *typname, PgDatetime *dt, SgError *err)
{
	static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	const char *p = text;
	size_t len;
	char buf[64];
	int64_t year, month, day, hour = 0, minute = 0, sec = 0, fsec = 0;

	memset(dt, 0, sizeof(*dt));
	while (*p != '\0' && pghash_is_space(*p))
		p++;
	len = strlen(p);
	while (len > 0 && pghash_is_space(p[len - 1]))
		len--;
	if (len >= sizeof(buf))
		goto unsupported;
	memcpy(buf, p, len);
	buf[len] = '\0';
	p = buf;

	if (pghash_strcaseeq(p, "infinity") || pghash_strcaseeq(p, "+infinity")) {
		dt->kind = PGDT_INFINITY;
		return true;
	}
	if (pghash_strcaseeq(p, "-infinity")) {
		dt->kind = PGDT_NINFINITY;
		return true;
	}
	if (pghash_strcaseeq(p, "epoch")) {
		dt->kind = PGDT_VALUE;
		dt->days = pghash_date2j(1970, 1, 1) - PGHASH_PG_EPOCH_JDATE;
		dt->has_zone = true; /* epoch is 1970-01-01 00:00:00+00 */
		return true;
	}

	if (!pghash_digits(&p, 4, 9, &year) || *p++ != '-' || !pghash_digits(&p, 1, 2, &month) ||
	    *p++ != '-' || !pghash_digits(&p, 1, 2, &day))
		goto unsupported;
	if (*p == 'T' || *p == 't' || pghash_is_space(*p)) {
		const char *t = p + 1;

		while (pghash_is_space(p[0]) && pghash_is_space(*t))
			t++;
		if (!pghash_digits(&t, 1, 2, &hour) || *t++ != ':' || !pghash_digits(&t, 1, 2, &minute))
			goto unsupported;
		if (*t == ':') {
			t++;
			if (!pghash_digits(&t, 1, 2, &sec))
				goto unsupported;
			if (*t == '.') {
				/* ParseFractionalSecond: rint(strtod(".ddd") * 1e6) */
				char frac[32] = "0.";
				size_t n = 0;

				t++;
				while (pghash_is_digit(*t) && n + 3 < sizeof(frac))
					frac[2 + n++] = *t++;
				if (pghash_is_digit(*t))
					goto unsupported;
				frac[2 + n] = '\0';
				fsec = (int64_t)__builtin_rint(strtod(frac, NULL) * 1000000.0);
			}
		}
		dt->has_time = true;
		while (pghash_is_space(*t))
			t++;
		if (*t != '\0') {
			bool is_odd;

			if (!pghash_parse_zone(t, text, &dt->offset, &is_odd, err)) {
				if (is_odd)
					goto unsupported;
				return false;
			}
			dt->has_zone = true;
		}
		p = t + strlen(t);
	}
	if (*p != '\0')
		goto unsupported;
	if (year > PGHASH_MAX_TIMESTAMP_YEAR)
		goto unsupported;

	/* field ranges, as ValidateDate / ValidateTime */
	if (year < 1 || month < 1 || month > 12 || day < 1 ||
	    day > mdays[month - 1] + (month == 2 && pghash_is_leap(year) ? 1 : 0) || hour > 24 ||
	    minute > 59 || sec > 60 || fsec > 1000000 ||
	    (hour == 24 && (minute > 0 || sec > 0 || fsec > 0)))
		return sg_error_set(err, PGHASH_SQLSTATE_DATETIME_OVERFLOW,
		                    "date/time field value out of range: \"%s\"", text);

	dt->kind = PGDT_VALUE;
	dt->days = pghash_date2j(year, month, day) - PGHASH_PG_EPOCH_JDATE;
	dt->usecs = ((hour * 60 + minute) * 60 + sec) * INT64_C(1000000) + fsec;
	return true;

unsupported:
	return sg_error_set(err, SQLSTATE_FEATURE_NOT_SUPPORTED,
	                    "cannot compute the distribution hash of %s value \"%s\"", typname, text);
}

/*
 * pghash_date_text: date_in for the ISO subset. Infinities map to
 * DATEVAL_NOBEGIN / DATEVAL_NOEND; a time part is refused (0A000).
 */
static bool
pghash_date_text(const char *text, int32_t *out, SgError *err)
{
	PgDatetime dt;

	if (!pghash_parse_datetime(text, "date", &dt, err))
		return false;
	switch (dt.kind) {
	case PGDT_INFINITY:
		*out = INT32_MAX;
		return true;
	case PGDT_NINFINITY:
		*out = INT32_MIN;
		return true;
	case PGDT_VALUE:
		break;
	}
	if (dt.has_time)
		return sg_error_set(err, SQLSTATE_FEATURE_NOT_SUPPORTED,
		                    "cannot compute the distribution hash of date value \"%s\"", text);
	*out = (int32_t)dt.days;
	return true;
}

/*
 * pghash_timestamp_text: timestamp_in (is_tz false) or timestamptz_in for
 * the ISO subset. timestamp ignores a zone, as PostgreSQL does; timestamptz
 * needs one (without it the value depends on the session's TimeZone, which
 * the hash layer does not know) and is refused with 0A000 otherwise.
 */
static bool
pghash_timestamp_text(const char *text, bool is_tz, int64_t *out, SgError *err)
{
	const char *typname = is_tz ? "timestamp with time zone" : "timestamp without time zone";
	PgDatetime dt;

	if (!pghash_parse_datetime(text, typname, &dt, err))
		return false;
	switch (dt.kind) {
	case PGDT_INFINITY:
		*out = INT64_MAX;
		return true;
	case PGDT_NINFINITY:
		*out = INT64_MIN;
		return true;
	case PGDT_VALUE:
		break;
	}
	if (is_tz && !dt.has_zone)
		return sg_error_set(err, SQLSTATE_FEATURE_NOT_SUPPORTED,
		                    "cannot compute the distribution hash of %s value \"%s\" without an "
		                    "explicit time zone",
		                    typname, text);
	*out = dt.days * PGHASH_USECS_PER_DAY + dt.usecs;
	if (is_tz)
		*out -= dt.offset * INT64_C(1000000);
	return true;
}

/* ---- public entry points ---- */

/* pghash_type_supported: true for the pg_type oids we can hash */
bool
pghash_type_supported(uint32_t type_oid)
{
	switch (type_oid) {
	case PG_OID_BOOL:
	case PG_OID_INT8:
	case PG_OID_INT2:
	case PG_OID_INT4:
	case PG_OID_TEXT:
	case PG_OID_BPCHAR:
	case PG_OID_VARCHAR:
	case PG_OID_DATE:
	case PG_OID_TIMESTAMP:
	case PG_OID_TIMESTAMPTZ:
	case PG_OID_UUID:
		return true;
	default:
		return false;
	}
}

static bool
pghash_unsupported_type(uint32_t type_oid, SgError *err)
{
	return sg_error_set(err, SQLSTATE_FEATURE_NOT_SUPPORTED,
	                    "cannot hash values of type oid %u as a distribution column", type_oid);
}

/*
 * pghash_text_value parses text (NUL-terminated, non-NULL; a SQL NULL is
 * the caller's business, see shardmap_null_shard_index) as type_oid and
 * stores the type's extended hash with HASH_PARTITION_SEED in *hash.
 * Errors: 22P02 / 22003 with PostgreSQL's messages for bad or out-of-range
 * numbers, booleans and uuids; 22008 / 22009 for date/time fields out of
 * range; 0A000 for an unsupported type or a date/time form outside the
 * ISO subset (see pghash_parse_datetime). *hash is untouched on failure.
 */
bool
pghash_text_value(uint32_t type_oid, const char *text, uint64_t *hash, SgError *err)
{
	int64_t i64 = 0;
	int32_t i32 = 0;
	bool b = false;
	unsigned char uuid[PGHASH_UUID_LEN];

	SG_ASSERT(text != NULL);
	switch (type_oid) {
	case PG_OID_BOOL:
		if (!pghash_parse_bool(text, &b, err))
			return false;
		*hash = pghash_int4(b ? 1 : 0);
		return true;
	case PG_OID_INT2:
		if (!pghash_parse_int(text, INT16_MIN, INT16_MAX, "smallint", &i64, err))
			return false;
		*hash = pghash_int4((int32_t)i64);
		return true;
	case PG_OID_INT4:
		if (!pghash_parse_int(text, INT32_MIN, INT32_MAX, "integer", &i64, err))
			return false;
		*hash = pghash_int4((int32_t)i64);
		return true;
	case PG_OID_INT8:
		if (!pghash_parse_int(text, INT64_MIN, INT64_MAX, "bigint", &i64, err))
			return false;
		*hash = pghash_int8(i64);
		return true;
	case PG_OID_TEXT:
	case PG_OID_VARCHAR:
		*hash = pghash_text(text, strlen(text));
		return true;
	case PG_OID_BPCHAR:
		*hash = pghash_bpchar(text, strlen(text));
		return true;
	case PG_OID_DATE:
		if (!pghash_date_text(text, &i32, err))
			return false;
		*hash = pghash_int4(i32);
		return true;
	case PG_OID_TIMESTAMP:
	case PG_OID_TIMESTAMPTZ:
		if (!pghash_timestamp_text(text, type_oid == PG_OID_TIMESTAMPTZ, &i64, err))
			return false;
		*hash = pghash_int8(i64);
		return true;
	case PG_OID_UUID:
		if (!pghash_parse_uuid(text, uuid, err))
			return false;
		*hash = pghash_bytes_extended(uuid, sizeof(uuid), PG_HASH_PARTITION_SEED);
		return true;
	default:
		return pghash_unsupported_type(type_oid, err);
	}
}

static uint64_t
pghash_be(const char *data, size_t len)
{
	uint64_t v = 0;

	for (size_t i = 0; i < len; i++)
		v = (v << 8) | (unsigned char)data[i];
	return v;
}

static bool
pghash_binary_size(uint32_t type_oid, size_t len, size_t want, SgError *err)
{
	if (len == want)
		return true;
	return sg_error_set(err, PGHASH_SQLSTATE_INVALID_BINARY,
	                    "incorrect binary data format: %zu bytes for a value of type oid %u "
	                    "(expected %zu)",
	                    len, type_oid, want);
}

/*
 * pghash_binary_value hashes a binary-format value (the type's send/recv
 * format): bool 1 byte (non-zero is true), int2/int4/int8/date/timestamp(tz)
 * big-endian integers of 2/4/8/4/8 bytes, uuid 16 bytes, text types their
 * bytes (encoding is not checked). Fails with 22P03 when the size is wrong
 * for the type, 0A000 for an unsupported type; *hash untouched on failure.
 */
bool
pghash_binary_value(uint32_t type_oid, const char *data, size_t len, uint64_t *hash, SgError *err)
{
	SG_ASSERT(data != NULL || len == 0);
	switch (type_oid) {
	case PG_OID_BOOL:
		if (!pghash_binary_size(type_oid, len, 1, err))
			return false;
		*hash = pghash_int4(data[0] != 0 ? 1 : 0);
		return true;
	case PG_OID_INT2:
		if (!pghash_binary_size(type_oid, len, 2, err))
			return false;
		*hash = pghash_int4((int16_t)(uint16_t)pghash_be(data, 2));
		return true;
	case PG_OID_INT4:
	case PG_OID_DATE:
		if (!pghash_binary_size(type_oid, len, 4, err))
			return false;
		*hash = pghash_int4((int32_t)(uint32_t)pghash_be(data, 4));
		return true;
	case PG_OID_INT8:
	case PG_OID_TIMESTAMP:
	case PG_OID_TIMESTAMPTZ:
		if (!pghash_binary_size(type_oid, len, 8, err))
			return false;
		*hash = pghash_int8((int64_t)pghash_be(data, 8));
		return true;
	case PG_OID_TEXT:
	case PG_OID_VARCHAR:
		*hash = pghash_text(data, len);
		return true;
	case PG_OID_BPCHAR:
		*hash = pghash_bpchar(data, len);
		return true;
	case PG_OID_UUID:
		if (!pghash_binary_size(type_oid, len, PGHASH_UUID_LEN, err))
			return false;
		*hash = pghash_bytes_extended((const unsigned char *)data, len, PG_HASH_PARTITION_SEED);
		return true;
	default:
		return pghash_unsupported_type(type_oid, err);
	}
}
