#ifndef SG_COMMON_PROTO_H
#define SG_COMMON_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/arena.h"
#include "common/buf.h"
#include "common/error.h"

/*
 * proto: PostgreSQL protocol v3 codec, both directions (the gateway speaks
 * it to clients as a server and to nodes as a client). Pure: bytes in,
 * structs out, no I/O. Lives in common/ because storage/node.c needs it too.
 * Readers take a message body (after the type byte and the 4-byte length)
 * and point into it; writers append whole messages to a Buf.
 */

/* frontend message types */
#define PQ_MSG_QUERY 'Q'
#define PQ_MSG_PARSE 'P'
#define PQ_MSG_BIND 'B'
#define PQ_MSG_DESCRIBE 'D'
#define PQ_MSG_EXECUTE 'E'
#define PQ_MSG_CLOSE 'C'
#define PQ_MSG_SYNC 'S'
#define PQ_MSG_FLUSH 'H'
#define PQ_MSG_TERMINATE 'X'
#define PQ_MSG_PASSWORD 'p' /* also SASLInitialResponse and SASLResponse */
#define PQ_MSG_COPY_DATA 'd'
#define PQ_MSG_COPY_DONE 'c'
#define PQ_MSG_COPY_FAIL 'f'
#define PQ_MSG_FUNCTION_CALL 'F'

/* backend message types */
#define PQ_MSG_AUTH 'R'
#define PQ_MSG_PARAMETER_STATUS 'S'
#define PQ_MSG_BACKEND_KEY 'K'
#define PQ_MSG_READY 'Z'
#define PQ_MSG_ROW_DESCRIPTION 'T'
#define PQ_MSG_DATA_ROW 'D'
#define PQ_MSG_COMMAND_COMPLETE 'C'
#define PQ_MSG_ERROR 'E'
#define PQ_MSG_NOTICE 'N'
#define PQ_MSG_EMPTY_QUERY 'I'
#define PQ_MSG_PARSE_COMPLETE '1'
#define PQ_MSG_BIND_COMPLETE '2'
#define PQ_MSG_CLOSE_COMPLETE '3'
#define PQ_MSG_NO_DATA 'n'
#define PQ_MSG_PARAMETER_DESCRIPTION 't'
#define PQ_MSG_PORTAL_SUSPENDED 's'
#define PQ_MSG_COPY_IN 'G'
#define PQ_MSG_COPY_OUT 'H'
#define PQ_MSG_COPY_BOTH 'W'
#define PQ_MSG_NOTIFICATION 'A'

/* startup packet codes */
#define PQ_PROTOCOL_3_0 196608u /* 3 << 16 */
#define PQ_CANCEL_REQUEST 80877102u
#define PQ_SSL_REQUEST 80877103u
#define PQ_GSSENC_REQUEST 80877104u

/* authentication request codes */
#define PQ_AUTH_OK 0
#define PQ_AUTH_CLEARTEXT 3
#define PQ_AUTH_MD5 5
#define PQ_AUTH_SASL 10
#define PQ_AUTH_SASL_CONTINUE 11
#define PQ_AUTH_SASL_FINAL 12

/* transaction status in ReadyForQuery */
#define PQ_TXN_IDLE 'I'
#define PQ_TXN_BLOCK 'T'
#define PQ_TXN_FAILED 'E'

#define PROTO_MAX_STARTUP_PARAMS 64

typedef enum StartupKind {
	STARTUP_NORMAL,
	STARTUP_SSL,
	STARTUP_GSSENC,
	STARTUP_CANCEL
} StartupKind;

typedef struct StartupPacket {
	StartupKind kind;
	uint32_t protocol; /* STARTUP_NORMAL: the requested version */
	int nparams;
	const char *names[PROTO_MAX_STARTUP_PARAMS]; /* point into the packet body */
	const char *values[PROTO_MAX_STARTUP_PARAMS];
	uint32_t cancel_pid; /* STARTUP_CANCEL */
	uint32_t cancel_key;
} StartupPacket;

typedef enum FrameResult { FRAME_NEED_MORE, FRAME_OK, FRAME_ERROR } FrameResult;

/*
 * proto_frame_startup: is a whole startup packet (4-byte length, then body)
 * at p[0..avail)? FRAME_OK sets *total (length included). FRAME_ERROR (08P01,
 * "invalid length of startup packet") when the length is < 8 or > max_len.
 */
FrameResult proto_frame_startup(const char *p, size_t avail, size_t max_len, size_t *total,
                                SgError *err);
/*
 * proto_frame: is a whole typed message (type byte, 4-byte length including
 * itself, body) at p[0..avail)? FRAME_OK sets *type and *total (all bytes).
 * FRAME_ERROR: length < 4 (08P01 "invalid message length") or body larger
 * than max_len (54000 "message too large" style, as PostgreSQL's
 * "invalid message length" for oversized: we use 08P01 too).
 */
FrameResult proto_frame(const char *p, size_t avail, size_t max_len, char *type, size_t *total,
                        SgError *err);

/* proto_parse_startup: body is the packet after its length word */
SG_MUSTCHECK bool proto_parse_startup(const char *body, size_t len, StartupPacket *out,
                                      SgError *err);
/* startup parameter lookup; NULL if absent */
const char *proto_startup_param(const StartupPacket *sp, const char *name);

/* frontend message readers (body = after type and length) */
SG_MUSTCHECK bool proto_read_query(const char *body, size_t len, const char **sql, SgError *err);
/* PasswordMessage (cleartext): the password string */
SG_MUSTCHECK bool proto_read_password(const char *body, size_t len, const char **password,
                                      SgError *err);
/* SASLInitialResponse: mechanism name and initial data (data may be NULL/0 when length is -1) */
SG_MUSTCHECK bool proto_read_sasl_initial(const char *body, size_t len, const char **mechanism,
                                          const char **data, size_t *data_len, SgError *err);
/* SASLResponse: the whole body is the data */

/* extended query protocol messages; arrays live in arena a, strings point into body */
typedef struct ParseMsg {
	const char *name;
	const char *query;
	int16_t ntypes;
	uint32_t *types; /* [ntypes] */
} ParseMsg;

typedef struct BindMsg {
	const char *portal;
	const char *stmt;
	int16_t nformats; /* 0 (all text), 1 (all the same) or nparams */
	int16_t *formats;
	int16_t nparams;
	const char **values; /* [nparams], NULL = SQL NULL */
	int32_t *lengths;    /* [nparams], -1 = NULL */
	int16_t nresult;     /* result format codes, same rules */
	int16_t *result_formats;
} BindMsg;

SG_MUSTCHECK bool proto_read_parse(const char *body, size_t len, Arena *a, ParseMsg *out,
                                   SgError *err);
SG_MUSTCHECK bool proto_read_bind(const char *body, size_t len, Arena *a, BindMsg *out,
                                  SgError *err);
/* Describe and Close: kind 'S' or 'P' and the name */
SG_MUSTCHECK bool proto_read_target(const char *body, size_t len, char *kind, const char **name,
                                    SgError *err);
SG_MUSTCHECK bool proto_read_execute(const char *body, size_t len, const char **portal,
                                     uint32_t *max_rows, SgError *err);
/* proto_param_format: the format code of parameter (or column) i under the 0/1/n rule */
int16_t proto_format_of(int16_t nformats, const int16_t *formats, int i);

/* backend message readers, for what nodes send us */
/* proto_read_error_fields: ErrorResponse/NoticeResponse body -> SgError (S/V, C, M, D, H, P) */
SG_MUSTCHECK bool proto_read_error_fields(const char *body, size_t len, SgError *out);
/* proto_read_command_tag: CommandComplete body -> tag string */
SG_MUSTCHECK bool proto_read_command_tag(const char *body, size_t len, const char **tag);
/*
 * proto_tag_count: the row count at the end of a command tag ("INSERT 0 5" -> 5,
 * "SELECT 3" -> 3, "UPDATE 0" -> 0); false if the tag has none ("CREATE TABLE").
 */
bool proto_tag_count(const char *tag, uint64_t *count);

/* backend message writers (to clients) */
void proto_write_auth(Buf *b, uint32_t code); /* AuthenticationOk / CleartextPassword / ... */
void proto_write_auth_sasl(Buf *b, const char *const *mechanisms, int n);
void proto_write_auth_sasl_data(Buf *b, uint32_t code, const char *data, size_t len);
void proto_write_parameter_status(Buf *b, const char *name, const char *value);
void proto_write_backend_key(Buf *b, uint32_t pid, uint32_t key);
void proto_write_ready(Buf *b, char txn_status);
void proto_write_error(Buf *b, const SgError *err);  /* ErrorResponse: S, V, C, M, D, H, P */
void proto_write_notice(Buf *b, const SgError *err); /* NoticeResponse, same fields */
void proto_write_command_complete(Buf *b, const char *tag);
void proto_write_empty_query(Buf *b);
/* RowDescription for gateway-computed results: text format, no table oid */
void proto_write_row_description(Buf *b, int ncols, const char *const *names,
                                 const uint32_t *type_oids);
/* DataRow; vals[i] == NULL is SQL NULL; lens[i] < 0 means strlen */
void proto_write_data_row(Buf *b, int ncols, const char *const *vals, const int *lens);
/* raw: one message with this type and body */
void proto_write_message(Buf *b, char type, const void *body, size_t len);

/* frontend message writers (to nodes) */
void proto_write_query(Buf *b, const char *sql);
void proto_write_parse(Buf *b, const char *stmt_name, const char *sql, int nparams,
                       const uint32_t *param_types);
/* Bind with all-text parameters and all-text results */
void proto_write_bind_text(Buf *b, const char *portal, const char *stmt_name, int nparams,
                           const char *const *params);
/* Bind with the given formats and values (lengths[i] < 0 = NULL) */
void proto_write_bind(Buf *b, const char *portal, const char *stmt_name, int16_t nformats,
                      const int16_t *formats, int16_t nparams, const char *const *values,
                      const int32_t *lengths, int16_t nresult, const int16_t *result_formats);
void proto_write_describe(Buf *b, char kind, const char *name); /* kind 'S' or 'P' */
void proto_write_close(Buf *b, char kind, const char *name);    /* kind 'S' or 'P' */
void proto_write_execute(Buf *b, const char *portal, uint32_t max_rows);
void proto_write_sync(Buf *b);
void proto_write_terminate(Buf *b);
void proto_write_cancel_request(Buf *b, uint32_t pid, uint32_t key);

#endif /* SG_COMMON_PROTO_H */
