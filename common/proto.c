/*
 * proto.c: the PostgreSQL protocol v3 codec, both directions (see proto.h).
 *
 * Pure functions over byte ranges: framing decides whether a whole message
 * is buffered, readers decode a message body through a BufReader (every
 * getter bounds-checked) into pointers that stay inside the caller's bytes,
 * and writers append complete messages to a Buf. Nothing here does I/O,
 * allocates beyond the Buf, or keeps state.
 *
 * Errors use PostgreSQL's SQLSTATEs and message texts where PostgreSQL has
 * one (mostly 08P01 protocol_violation). Framing and startup-packet errors
 * are FATAL (the byte stream can no longer be trusted, the session must
 * end); errors inside a well-framed message are ERROR, so the caller may
 * choose to continue, as PostgreSQL does.
 *
 * Writers: msg_begin() appends the type byte and a placeholder length,
 * msg_end() patches the length once the body is written. Buf growth aborts
 * on out of memory, so writers cannot fail; counts that the wire format
 * holds in 16 bits are asserted (callers check client-chosen sizes first).
 */
#include "common/proto.h"

#include <arpa/inet.h>
#include <limits.h>
#include <string.h>

#include "common/macros.h"

/* ---------------------------------------------------------------- errors */

/* proto_bad_format: 08P01 "invalid message format" (pq_getmsgend's message) */
static bool
proto_bad_format(SgError *err)
{
	return sg_error_set(err, SQLSTATE_PROTOCOL_VIOLATION, "invalid message format");
}

/* proto_bad_string: 08P01 "invalid string in message" (pq_getmsgstring's message) */
static bool
proto_bad_string(SgError *err)
{
	return sg_error_set(err, SQLSTATE_PROTOCOL_VIOLATION, "invalid string in message");
}

/* proto_insufficient: 08P01 "insufficient data left in message" (pq_getmsgint's message) */
static bool
proto_insufficient(SgError *err)
{
	return sg_error_set(err, SQLSTATE_PROTOCOL_VIOLATION, "insufficient data left in message");
}

static uint32_t
proto_peek_u32(const char *p)
{
	uint32_t n;
	memcpy(&n, p, 4);
	return ntohl(n);
}

/* --------------------------------------------------------------- framing */

FrameResult
proto_frame_startup(const char *p, size_t avail, size_t max_len, size_t *total, SgError *err)
{
	if (avail < 4)
		return FRAME_NEED_MORE;
	uint32_t len = proto_peek_u32(p);
	if (len < 8 || (size_t)len > max_len) {
		sg_error_fatal(err, SQLSTATE_PROTOCOL_VIOLATION, "invalid length of startup packet");
		return FRAME_ERROR;
	}
	if (avail < len)
		return FRAME_NEED_MORE;
	*total = len;
	return FRAME_OK;
}

FrameResult
proto_frame(const char *p, size_t avail, size_t max_len, char *type, size_t *total, SgError *err)
{
	if (avail < 5)
		return FRAME_NEED_MORE;
	uint32_t len = proto_peek_u32(p + 1);
	if (len < 4) {
		sg_error_fatal(err, SQLSTATE_PROTOCOL_VIOLATION, "invalid message length");
		return FRAME_ERROR;
	}
	if ((size_t)len - 4 > max_len) {
		sg_error_fatal(err, SQLSTATE_PROTOCOL_VIOLATION, "invalid message length");
		sg_error_detail(err, "Message of type \"%c\" has %u bytes; the limit is %zu bytes.",
		                (p[0] >= 0x20 && p[0] < 0x7f) ? p[0] : '?', len - 4, max_len);
		return FRAME_ERROR;
	}
	if (avail - 1 < len)
		return FRAME_NEED_MORE;
	*type = p[0];
	*total = (size_t)len + 1;
	return FRAME_OK;
}

/* --------------------------------------------------------------- startup */

/*
 * proto_parse_startup decodes the packet after its length word. The fixed
 * 4-byte code picks the kind; SSLRequest and GSSENCRequest must be exactly
 * the code, CancelRequest the code plus pid and key. A normal startup needs
 * protocol major 3 (any minor: we answer with 3.0 behaviour) and then
 * NUL-terminated name/value pairs ending with an empty name as the last
 * byte. names/values point into body, which must outlive *out.
 */
bool
proto_parse_startup(const char *body, size_t len, StartupPacket *out, SgError *err)
{
	BufReader rd;
	uint32_t code;

	memset(out, 0, sizeof(*out));
	buf_reader_init(&rd, body, len);
	if (!buf_get_u32(&rd, &code))
		return sg_error_fatal(err, SQLSTATE_PROTOCOL_VIOLATION, "invalid length of startup packet");

	switch (code) {
	case PQ_SSL_REQUEST:
	case PQ_GSSENC_REQUEST:
		if (buf_reader_left(&rd) != 0)
			return sg_error_fatal(err, SQLSTATE_PROTOCOL_VIOLATION,
			                      "invalid length of startup packet");
		out->kind = code == PQ_SSL_REQUEST ? STARTUP_SSL : STARTUP_GSSENC;
		return true;
	case PQ_CANCEL_REQUEST:
		if (!buf_get_u32(&rd, &out->cancel_pid) || !buf_get_u32(&rd, &out->cancel_key) ||
		    buf_reader_left(&rd) != 0)
			return sg_error_fatal(err, SQLSTATE_PROTOCOL_VIOLATION,
			                      "invalid length of startup packet");
		out->kind = STARTUP_CANCEL;
		return true;
	default:
		break;
	}

	if ((code >> 16) != 3)
		return sg_error_fatal(err, SQLSTATE_FEATURE_NOT_SUPPORTED,
		                      "unsupported frontend protocol %u.%u: server supports 3.0 to 3.0",
		                      code >> 16, code & 0xffffu);
	out->kind = STARTUP_NORMAL;
	out->protocol = code;

	for (;;) {
		const char *name, *value;
		if (!buf_get_cstring(&rd, &name))
			return sg_error_fatal(err, SQLSTATE_PROTOCOL_VIOLATION,
			                      "invalid startup packet layout: expected terminator as "
			                      "last byte");
		if (name[0] == '\0') {
			if (buf_reader_left(&rd) != 0)
				return sg_error_fatal(err, SQLSTATE_PROTOCOL_VIOLATION,
				                      "invalid startup packet layout: expected terminator "
				                      "as last byte");
			return true;
		}
		if (!buf_get_cstring(&rd, &value))
			return sg_error_fatal(err, SQLSTATE_PROTOCOL_VIOLATION,
			                      "invalid startup packet layout: expected terminator as "
			                      "last byte");
		if (out->nparams >= PROTO_MAX_STARTUP_PARAMS)
			return sg_error_fatal(err, SQLSTATE_PROTOCOL_VIOLATION,
			                      "too many parameters in startup packet (limit %d)",
			                      PROTO_MAX_STARTUP_PARAMS);
		out->names[out->nparams] = name;
		out->values[out->nparams] = value;
		out->nparams++;
	}
}

const char *
proto_startup_param(const StartupPacket *sp, const char *name)
{
	for (int i = 0; i < sp->nparams; i++)
		if (strcmp(sp->names[i], name) == 0)
			return sp->values[i];
	return NULL;
}

/* ------------------------------------------------------ frontend readers */

bool
proto_read_query(const char *body, size_t len, const char **sql, SgError *err)
{
	BufReader rd;
	buf_reader_init(&rd, body, len);
	if (!buf_get_cstring(&rd, sql))
		return proto_bad_string(err);
	if (buf_reader_left(&rd) != 0)
		return proto_bad_format(err);
	return true;
}

bool
proto_read_parse(const char *body, size_t len, Arena *a, ParseMsg *out, SgError *err)
{
	BufReader rd;
	buf_reader_init(&rd, body, len);
	if (!buf_get_cstring(&rd, &out->name) || !buf_get_cstring(&rd, &out->query))
		return proto_bad_string(err);
	if (!buf_get_i16(&rd, &out->ntypes))
		return proto_insufficient(err);
	if (out->ntypes < 0 || buf_reader_left(&rd) != (size_t)out->ntypes * 4)
		return proto_bad_format(err);
	out->types = arena_alloc(a, sizeof(uint32_t) * ((size_t)out->ntypes + 1));
	for (int i = 0; i < out->ntypes; i++)
		if (!buf_get_u32(&rd, &out->types[i]))
			return proto_insufficient(err);
	return true;
}

/* read_formats: int16 count then that many int16 codes (each 0 or 1) */
static bool
read_formats(BufReader *rd, Arena *a, int16_t *n, int16_t **codes, SgError *err)
{
	if (!buf_get_i16(rd, n))
		return proto_insufficient(err);
	if (*n < 0 || buf_reader_left(rd) < (size_t)*n * 2)
		return proto_bad_format(err);
	*codes = arena_alloc(a, sizeof(int16_t) * ((size_t)*n + 1));
	for (int i = 0; i < *n; i++) {
		if (!buf_get_i16(rd, &(*codes)[i]))
			return proto_insufficient(err);
		if ((*codes)[i] != 0 && (*codes)[i] != 1)
			return sg_error_set(err, SQLSTATE_PROTOCOL_VIOLATION, "unsupported format code: %d",
			                    (*codes)[i]);
	}
	return true;
}

bool
proto_read_bind(const char *body, size_t len, Arena *a, BindMsg *out, SgError *err)
{
	BufReader rd;
	buf_reader_init(&rd, body, len);
	if (!buf_get_cstring(&rd, &out->portal) || !buf_get_cstring(&rd, &out->stmt))
		return proto_bad_string(err);
	if (!read_formats(&rd, a, &out->nformats, &out->formats, err))
		return false;
	if (!buf_get_i16(&rd, &out->nparams))
		return proto_insufficient(err);
	if (out->nparams < 0)
		return proto_bad_format(err);
	if (out->nformats > 1 && out->nformats != out->nparams)
		return sg_error_set(err, SQLSTATE_PROTOCOL_VIOLATION,
		                    "bind message has %d parameter formats but %d parameters",
		                    out->nformats, out->nparams);
	out->values = arena_alloc(a, sizeof(char *) * ((size_t)out->nparams + 1));
	out->lengths = arena_alloc(a, sizeof(int32_t) * ((size_t)out->nparams + 1));
	for (int i = 0; i < out->nparams; i++) {
		int32_t n;
		if (!buf_get_i32(&rd, &n))
			return proto_insufficient(err);
		out->lengths[i] = n;
		if (n == -1) {
			out->values[i] = NULL;
			continue;
		}
		if (n < 0 || !buf_get_bytes(&rd, (size_t)n, &out->values[i]))
			return proto_insufficient(err);
	}
	if (!read_formats(&rd, a, &out->nresult, &out->result_formats, err))
		return false;
	if (buf_reader_left(&rd) != 0)
		return proto_bad_format(err);
	return true;
}

bool
proto_read_target(const char *body, size_t len, char *kind, const char **name, SgError *err)
{
	BufReader rd;
	uint8_t k;
	buf_reader_init(&rd, body, len);
	if (!buf_get_u8(&rd, &k))
		return proto_insufficient(err);
	if (!buf_get_cstring(&rd, name))
		return proto_bad_string(err);
	if (buf_reader_left(&rd) != 0)
		return proto_bad_format(err);
	if (k != 'S' && k != 'P')
		return sg_error_set(err, SQLSTATE_PROTOCOL_VIOLATION, "invalid DESCRIBE message subtype %d",
		                    (int)k);
	*kind = (char)k;
	return true;
}

bool
proto_read_execute(const char *body, size_t len, const char **portal, uint32_t *max_rows,
                   SgError *err)
{
	BufReader rd;
	buf_reader_init(&rd, body, len);
	if (!buf_get_cstring(&rd, portal))
		return proto_bad_string(err);
	if (!buf_get_u32(&rd, max_rows))
		return proto_insufficient(err);
	if (buf_reader_left(&rd) != 0)
		return proto_bad_format(err);
	return true;
}

int16_t
proto_format_of(int16_t nformats, const int16_t *formats, int i)
{
	if (nformats == 0)
		return 0;
	if (nformats == 1)
		return formats[0];
	return i < nformats ? formats[i] : 0;
}

bool
proto_read_password(const char *body, size_t len, const char **password, SgError *err)
{
	BufReader rd;
	buf_reader_init(&rd, body, len);
	if (!buf_get_cstring(&rd, password) || buf_reader_left(&rd) != 0)
		return sg_error_set(err, SQLSTATE_PROTOCOL_VIOLATION, "invalid password packet size");
	return true;
}

/*
 * proto_read_sasl_initial: mechanism name, then an Int32 data length (-1:
 * no data, *data NULL and *data_len 0) and the data, pointing into body.
 */
bool
proto_read_sasl_initial(const char *body, size_t len, const char **mechanism, const char **data,
                        size_t *data_len, SgError *err)
{
	BufReader rd;
	int32_t n;

	buf_reader_init(&rd, body, len);
	if (!buf_get_cstring(&rd, mechanism))
		return proto_bad_string(err);
	if (!buf_get_i32(&rd, &n))
		return proto_insufficient(err);
	if (n == -1) {
		*data = NULL;
		*data_len = 0;
	} else {
		if (n < 0 || !buf_get_bytes(&rd, (size_t)n, data))
			return proto_insufficient(err);
		*data_len = (size_t)n;
	}
	if (buf_reader_left(&rd) != 0)
		return proto_bad_format(err);
	return true;
}

/* ------------------------------------------------------- backend readers */

/* copy_field: NUL-terminated copy of s into dst[size], truncated */
static void
copy_field(char *dst, size_t size, const char *s)
{
	size_t n = strlen(s);
	if (n >= size)
		n = size - 1;
	memcpy(dst, s, n);
	dst[n] = '\0';
}

/*
 * proto_read_error_fields: the fields of an ErrorResponse or NoticeResponse
 * body into *out (cleared first; each field truncated to its size). V (the
 * non-localized severity) wins over S. Unknown field types are skipped. A
 * malformed body gives false with *out set to an 08P01 error describing it.
 */
bool
proto_read_error_fields(const char *body, size_t len, SgError *out)
{
	BufReader rd;
	bool has_v = false;

	sg_error_clear(out);
	buf_reader_init(&rd, body, len);
	for (;;) {
		uint8_t code;
		const char *val;
		if (!buf_get_u8(&rd, &code))
			goto bad;
		if (code == 0)
			break;
		if (!buf_get_cstring(&rd, &val))
			goto bad;
		switch (code) {
		case 'S':
			if (!has_v)
				copy_field(out->severity, sizeof(out->severity), val);
			break;
		case 'V':
			copy_field(out->severity, sizeof(out->severity), val);
			has_v = true;
			break;
		case 'C':
			copy_field(out->sqlstate, sizeof(out->sqlstate), val);
			break;
		case 'M':
			copy_field(out->message, sizeof(out->message), val);
			break;
		case 'D':
			copy_field(out->detail, sizeof(out->detail), val);
			break;
		case 'H':
			copy_field(out->hint, sizeof(out->hint), val);
			break;
		case 'P': {
			long pos = 0;
			for (const char *c = val; *c >= '0' && *c <= '9' && pos < INT_MAX / 10; c++)
				pos = pos * 10 + (*c - '0');
			out->position = (int)pos;
			break;
		}
		default: {
			size_t vlen = strlen(val);
			if ((size_t)out->extra_len + vlen + 2 <= sizeof(out->extra)) {
				out->extra[out->extra_len++] = (char)code;
				memcpy(out->extra + out->extra_len, val, vlen + 1);
				out->extra_len = (unsigned short)(out->extra_len + vlen + 1);
			}
			break;
		}
		}
	}
	if (buf_reader_left(&rd) != 0)
		goto bad;
	if (out->sqlstate[0] == '\0') /* keep sg_error_is_set() true for any error we relay */
		copy_field(out->sqlstate, sizeof(out->sqlstate), SQLSTATE_INTERNAL_ERROR);
	return true;
bad:
	sg_error_set(out, SQLSTATE_PROTOCOL_VIOLATION, "invalid message format");
	sg_error_detail(out, "Malformed ErrorResponse or NoticeResponse from server.");
	return false;
}

bool
proto_read_command_tag(const char *body, size_t len, const char **tag)
{
	BufReader rd;
	buf_reader_init(&rd, body, len);
	return buf_get_cstring(&rd, tag) && buf_reader_left(&rd) == 0;
}

bool
proto_tag_count(const char *tag, uint64_t *count)
{
	const char *sp = strrchr(tag, ' ');
	if (sp == NULL || sp[1] == '\0')
		return false;
	uint64_t n = 0;
	for (const char *c = sp + 1; *c != '\0'; c++) {
		if (*c < '0' || *c > '9')
			return false;
		unsigned d = (unsigned)(*c - '0');
		if (n > (UINT64_MAX - d) / 10)
			return false;
		n = n * 10 + d;
	}
	*count = n;
	return true;
}

/* --------------------------------------------------------------- writers */

/* msg_begin appends the type byte and a length placeholder; returns the length's offset */
static size_t
msg_begin(Buf *b, char type)
{
	buf_append_u8(b, (uint8_t)type);
	size_t off = b->len;
	buf_append_u32(b, 0);
	return off;
}

/* msg_end patches the length word at off (it counts itself and the body) */
static void
msg_end(Buf *b, size_t off)
{
	size_t len = b->len - off;
	SG_ASSERT(len <= INT32_MAX);
	buf_put_u32_at(b, off, (uint32_t)len);
}

static void
put_i16(Buf *b, int v)
{
	SG_ASSERT(v >= INT16_MIN && v <= UINT16_MAX);
	buf_append_u16(b, (uint16_t)v);
}

void
proto_write_message(Buf *b, char type, const void *body, size_t len)
{
	size_t off = msg_begin(b, type);
	buf_append(b, body, len);
	msg_end(b, off);
}

void
proto_write_auth(Buf *b, uint32_t code)
{
	size_t off = msg_begin(b, PQ_MSG_AUTH);
	buf_append_u32(b, code);
	msg_end(b, off);
}

void
proto_write_auth_sasl(Buf *b, const char *const *mechanisms, int n)
{
	size_t off = msg_begin(b, PQ_MSG_AUTH);
	buf_append_u32(b, PQ_AUTH_SASL);
	for (int i = 0; i < n; i++)
		buf_append_cstr(b, mechanisms[i]);
	buf_append_u8(b, 0);
	msg_end(b, off);
}

void
proto_write_auth_sasl_data(Buf *b, uint32_t code, const char *data, size_t len)
{
	size_t off = msg_begin(b, PQ_MSG_AUTH);
	buf_append_u32(b, code);
	buf_append(b, data, len);
	msg_end(b, off);
}

void
proto_write_parameter_status(Buf *b, const char *name, const char *value)
{
	size_t off = msg_begin(b, PQ_MSG_PARAMETER_STATUS);
	buf_append_cstr(b, name);
	buf_append_cstr(b, value);
	msg_end(b, off);
}

void
proto_write_backend_key(Buf *b, uint32_t pid, uint32_t key)
{
	size_t off = msg_begin(b, PQ_MSG_BACKEND_KEY);
	buf_append_u32(b, pid);
	buf_append_u32(b, key);
	msg_end(b, off);
}

void
proto_write_ready(Buf *b, char txn_status)
{
	size_t off = msg_begin(b, PQ_MSG_READY);
	buf_append_u8(b, (uint8_t)txn_status);
	msg_end(b, off);
}

/* write_field: one ErrorResponse field (code byte, string) */
static void
write_field(Buf *b, char code, const char *val)
{
	buf_append_u8(b, (uint8_t)code);
	buf_append_cstr(b, val);
}

/*
 * write_error_like: the fields of ErrorResponse/NoticeResponse. An empty
 * severity becomes def_severity and an empty SQLSTATE XX000, so a client
 * always gets the mandatory S, V, C and M fields.
 */
static void
write_error_like(Buf *b, char type, const SgError *err, const char *def_severity)
{
	const char *sev = err->severity[0] ? err->severity : def_severity;
	size_t off = msg_begin(b, type);
	write_field(b, 'S', sev);
	write_field(b, 'V', sev);
	write_field(b, 'C', err->sqlstate[0] ? err->sqlstate : SQLSTATE_INTERNAL_ERROR);
	write_field(b, 'M', err->message);
	if (err->detail[0])
		write_field(b, 'D', err->detail);
	if (err->hint[0])
		write_field(b, 'H', err->hint);
	if (err->position > 0) {
		char pos[16];
		snprintf(pos, sizeof(pos), "%d", err->position);
		write_field(b, 'P', pos);
	}
	buf_append(b, err->extra, err->extra_len);
	buf_append_u8(b, 0);
	msg_end(b, off);
}

void
proto_write_error(Buf *b, const SgError *err)
{
	write_error_like(b, PQ_MSG_ERROR, err, "ERROR");
}

void
proto_write_notice(Buf *b, const SgError *err)
{
	write_error_like(b, PQ_MSG_NOTICE, err, "NOTICE");
}

void
proto_write_command_complete(Buf *b, const char *tag)
{
	size_t off = msg_begin(b, PQ_MSG_COMMAND_COMPLETE);
	buf_append_cstr(b, tag);
	msg_end(b, off);
}

void
proto_write_empty_query(Buf *b)
{
	msg_end(b, msg_begin(b, PQ_MSG_EMPTY_QUERY));
}

/* type_len: pg_type.typlen for the types the gateway produces; -1 otherwise */
static int
type_len(uint32_t oid)
{
	switch (oid) {
	case 16: /* bool */
		return 1;
	case 20: /* int8 */
		return 8;
	case 21: /* int2 */
		return 2;
	case 23:   /* int4 */
	case 26:   /* oid */
	case 700:  /* float4 */
	case 2278: /* void */
		return 4;
	case 701:  /* float8 */
	case 1114: /* timestamp */
	case 1184: /* timestamptz */
		return 8;
	default: /* text, varchar, numeric, ...: varlena */
		return -1;
	}
}

/*
 * proto_write_row_description: per column the name, table oid 0, attnum 0,
 * the type oid, its typlen, typmod -1 and format 0 (text).
 */
void
proto_write_row_description(Buf *b, int ncols, const char *const *names, const uint32_t *type_oids)
{
	size_t off = msg_begin(b, PQ_MSG_ROW_DESCRIPTION);
	put_i16(b, ncols);
	for (int i = 0; i < ncols; i++) {
		buf_append_cstr(b, names[i]);
		buf_append_u32(b, 0);
		put_i16(b, 0);
		buf_append_u32(b, type_oids[i]);
		put_i16(b, type_len(type_oids[i]));
		buf_append_i32(b, -1);
		put_i16(b, 0);
	}
	msg_end(b, off);
}

void
proto_write_data_row(Buf *b, int ncols, const char *const *vals, const int *lens)
{
	size_t off = msg_begin(b, PQ_MSG_DATA_ROW);
	put_i16(b, ncols);
	for (int i = 0; i < ncols; i++) {
		if (vals[i] == NULL) {
			buf_append_i32(b, -1);
			continue;
		}
		size_t n = (lens == NULL || lens[i] < 0) ? strlen(vals[i]) : (size_t)lens[i];
		SG_ASSERT(n <= INT32_MAX);
		buf_append_i32(b, (int32_t)n);
		buf_append(b, vals[i], n);
	}
	msg_end(b, off);
}

void
proto_write_query(Buf *b, const char *sql)
{
	size_t off = msg_begin(b, PQ_MSG_QUERY);
	buf_append_cstr(b, sql);
	msg_end(b, off);
}

/* proto_write_parse: param_types may be NULL (all unspecified, oid 0) */
void
proto_write_parse(Buf *b, const char *stmt_name, const char *sql, int nparams,
                  const uint32_t *param_types)
{
	size_t off = msg_begin(b, PQ_MSG_PARSE);
	buf_append_cstr(b, stmt_name);
	buf_append_cstr(b, sql);
	put_i16(b, nparams);
	for (int i = 0; i < nparams; i++)
		buf_append_u32(b, param_types ? param_types[i] : 0);
	msg_end(b, off);
}

/*
 * proto_write_bind_text: zero parameter format codes (all text), the
 * parameters (NULL pointer = SQL NULL), zero result format codes (all text).
 */
void
proto_write_bind_text(Buf *b, const char *portal, const char *stmt_name, int nparams,
                      const char *const *params)
{
	size_t off = msg_begin(b, PQ_MSG_BIND);
	buf_append_cstr(b, portal);
	buf_append_cstr(b, stmt_name);
	put_i16(b, 0);
	put_i16(b, nparams);
	for (int i = 0; i < nparams; i++) {
		if (params[i] == NULL) {
			buf_append_i32(b, -1);
			continue;
		}
		size_t n = strlen(params[i]);
		SG_ASSERT(n <= INT32_MAX);
		buf_append_i32(b, (int32_t)n);
		buf_append(b, params[i], n);
	}
	put_i16(b, 0);
	msg_end(b, off);
}

void
proto_write_bind(Buf *b, const char *portal, const char *stmt_name, int16_t nformats,
                 const int16_t *formats, int16_t nparams, const char *const *values,
                 const int32_t *lengths, int16_t nresult, const int16_t *result_formats)
{
	size_t off = msg_begin(b, PQ_MSG_BIND);
	buf_append_cstr(b, portal);
	buf_append_cstr(b, stmt_name);
	put_i16(b, nformats);
	for (int i = 0; i < nformats; i++)
		put_i16(b, formats[i]);
	put_i16(b, nparams);
	for (int i = 0; i < nparams; i++) {
		if (values[i] == NULL || lengths[i] < 0) {
			buf_append_i32(b, -1);
			continue;
		}
		buf_append_i32(b, lengths[i]);
		buf_append(b, values[i], (size_t)lengths[i]);
	}
	put_i16(b, nresult);
	for (int i = 0; i < nresult; i++)
		put_i16(b, result_formats[i]);
	msg_end(b, off);
}

void
proto_write_close(Buf *b, char kind, const char *name)
{
	SG_ASSERT(kind == 'S' || kind == 'P');
	size_t off = msg_begin(b, PQ_MSG_CLOSE);
	buf_append_u8(b, (uint8_t)kind);
	buf_append_cstr(b, name);
	msg_end(b, off);
}

void
proto_write_describe(Buf *b, char kind, const char *name)
{
	SG_ASSERT(kind == 'S' || kind == 'P');
	size_t off = msg_begin(b, PQ_MSG_DESCRIBE);
	buf_append_u8(b, (uint8_t)kind);
	buf_append_cstr(b, name);
	msg_end(b, off);
}

void
proto_write_execute(Buf *b, const char *portal, uint32_t max_rows)
{
	size_t off = msg_begin(b, PQ_MSG_EXECUTE);
	buf_append_cstr(b, portal);
	buf_append_u32(b, max_rows);
	msg_end(b, off);
}

void
proto_write_sync(Buf *b)
{
	msg_end(b, msg_begin(b, PQ_MSG_SYNC));
}

void
proto_write_terminate(Buf *b)
{
	msg_end(b, msg_begin(b, PQ_MSG_TERMINATE));
}

/* proto_write_cancel_request: untyped packet: length 16, the cancel code, pid, key */
void
proto_write_cancel_request(Buf *b, uint32_t pid, uint32_t key)
{
	buf_append_u32(b, 16);
	buf_append_u32(b, PQ_CANCEL_REQUEST);
	buf_append_u32(b, pid);
	buf_append_u32(b, key);
}
