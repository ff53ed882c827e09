/*
 * test_proto.c: byte-by-byte tests of the protocol v3 codec (common/proto.c):
 * startup packets, framing, frontend readers, every writer's exact bytes,
 * ErrorResponse round trips, command tag counts.
 */
#include <CUnit/CUnit.h>
#include <string.h>

#include "common/buf.h"
#include "common/proto.h"

void sg_register_tests(void);

/* B(s): a byte string literal and its length (without the literal's own NUL) */
#define B(s) s, sizeof(s) - 1

/* ------------------------------------------------------------ startup */

typedef struct StartupCase {
	const char *name;
	const char *body; /* after the length word */
	size_t len;
	bool ok;
	StartupKind kind;
	int nparams;
	const char *sqlstate;
	const char *message;
} StartupCase;

static const StartupCase startup_cases[] = {
    {"normal",
     B("\x00\x03\x00\x00"
       "user\0bob\0database\0db1\0\0"),
     true, STARTUP_NORMAL, 2, NULL, NULL},
    {"no params",
     B("\x00\x03\x00\x00"
       "\0"),
     true, STARTUP_NORMAL, 0, NULL, NULL},
    {"minor 2 accepted",
     B("\x00\x03\x00\x02"
       "user\0u\0\0"),
     true, STARTUP_NORMAL, 1, NULL, NULL},
    {"empty value",
     B("\x00\x03\x00\x00"
       "options\0\0\0"),
     true, STARTUP_NORMAL, 1, NULL, NULL},
    {"ssl", B("\x04\xd2\x16\x2f"), true, STARTUP_SSL, 0, NULL, NULL},
    {"gssenc", B("\x04\xd2\x16\x30"), true, STARTUP_GSSENC, 0, NULL, NULL},
    {"cancel",
     B("\x04\xd2\x16\x2e"
       "\x00\x00\x30\x39\xde\xad\xbe\xef"),
     true, STARTUP_CANCEL, 0, NULL, NULL},
    {"cancel truncated",
     B("\x04\xd2\x16\x2e"
       "\x00\x00\x30\x39\xde\xad"),
     false, 0, 0, "08P01", "invalid length of startup packet"},
    {"ssl with trailing bytes",
     B("\x04\xd2\x16\x2f"
       "x"),
     false, 0, 0, "08P01", "invalid length of startup packet"},
    {"truncated code", B("\x00\x03"), false, 0, 0, "08P01", "invalid length of startup packet"},
    {"protocol 2.0",
     B("\x00\x02\x00\x00"
       "user\0u\0\0"),
     false, 0, 0, "0A000", "unsupported frontend protocol 2.0: server supports 3.0 to 3.0"},
    {"protocol 4.1",
     B("\x00\x04\x00\x01"
       "\0"),
     false, 0, 0, "0A000", "unsupported frontend protocol 4.1: server supports 3.0 to 3.0"},
    {"unknown 1234 code", B("\x04\xd2\x16\x31"), false, 0, 0, "0A000",
     "unsupported frontend protocol 1234.5681: server supports 3.0 to 3.0"},
    {"unterminated name",
     B("\x00\x03\x00\x00"
       "user"),
     false, 0, 0, "08P01", "invalid startup packet layout: expected terminator as last byte"},
    {"unterminated value",
     B("\x00\x03\x00\x00"
       "user\0bob"),
     false, 0, 0, "08P01", "invalid startup packet layout: expected terminator as last byte"},
    {"missing final terminator",
     B("\x00\x03\x00\x00"
       "user\0bob\0"),
     false, 0, 0, "08P01", "invalid startup packet layout: expected terminator as last byte"},
    {"bytes after terminator",
     B("\x00\x03\x00\x00"
       "user\0bob\0\0x"),
     false, 0, 0, "08P01", "invalid startup packet layout: expected terminator as last byte"},
    {"no protocol at all", "", 0, false, 0, 0, "08P01", "invalid length of startup packet"},
};

static void
test_startup_table(void)
{
	for (size_t i = 0; i < SG_ARRAY_LEN(startup_cases); i++) {
		const StartupCase *c = &startup_cases[i];
		StartupPacket sp;
		SgError err;
		sg_error_clear(&err);
		bool ok = proto_parse_startup(c->body, c->len, &sp, &err);
		if (ok != c->ok)
			fprintf(stderr, "startup case '%s': ok=%d (%s)\n", c->name, ok, err.message);
		CU_ASSERT_EQUAL(ok, c->ok);
		if (ok && c->ok) {
			CU_ASSERT_EQUAL(sp.kind, c->kind);
			CU_ASSERT_EQUAL(sp.nparams, c->nparams);
		} else if (!ok && !c->ok) {
			CU_ASSERT_STRING_EQUAL(err.sqlstate, c->sqlstate);
			CU_ASSERT_STRING_EQUAL(err.message, c->message);
			CU_ASSERT_STRING_EQUAL(err.severity, "FATAL");
		}
	}
}

static void
test_startup_values(void)
{
	static const char body[] = "\x00\x03\x00\x00"
	                           "user\0bob\0database\0db1\0application_name\0psql\0\0";
	StartupPacket sp;
	SgError err;
	CU_ASSERT_TRUE_FATAL(proto_parse_startup(body, sizeof(body) - 1, &sp, &err));
	CU_ASSERT_EQUAL(sp.protocol, PQ_PROTOCOL_3_0);
	CU_ASSERT_STRING_EQUAL(proto_startup_param(&sp, "user"), "bob");
	CU_ASSERT_STRING_EQUAL(proto_startup_param(&sp, "database"), "db1");
	CU_ASSERT_STRING_EQUAL(proto_startup_param(&sp, "application_name"), "psql");
	CU_ASSERT_PTR_NULL(proto_startup_param(&sp, "options"));
	/* values point into the packet */
	CU_ASSERT_TRUE(proto_startup_param(&sp, "user") > body &&
	               proto_startup_param(&sp, "user") < body + sizeof(body));

	static const char cancel[] = "\x04\xd2\x16\x2e"
	                             "\x00\x00\x30\x39\xde\xad\xbe\xef";
	CU_ASSERT_TRUE_FATAL(proto_parse_startup(cancel, sizeof(cancel) - 1, &sp, &err));
	CU_ASSERT_EQUAL(sp.cancel_pid, 12345u);
	CU_ASSERT_EQUAL(sp.cancel_key, 0xdeadbeefu);
}

static void
test_startup_too_many_params(void)
{
	Buf b;
	buf_init(&b);
	buf_append_u32(&b, PQ_PROTOCOL_3_0);
	for (int i = 0; i < PROTO_MAX_STARTUP_PARAMS; i++) {
		buf_printf(&b, "p%d", i);
		buf_append_u8(&b, 0);
		buf_append_cstr(&b, "v");
	}
	buf_append_u8(&b, 0);
	StartupPacket sp;
	SgError err;
	CU_ASSERT_TRUE(proto_parse_startup(b.data, b.len, &sp, &err));
	CU_ASSERT_EQUAL(sp.nparams, PROTO_MAX_STARTUP_PARAMS);
	CU_ASSERT_STRING_EQUAL(proto_startup_param(&sp, "p63"), "v");

	b.len--; /* one more parameter */
	buf_append_cstr(&b, "extra");
	buf_append_cstr(&b, "v");
	buf_append_u8(&b, 0);
	CU_ASSERT_FALSE(proto_parse_startup(b.data, b.len, &sp, &err));
	CU_ASSERT_STRING_EQUAL(err.sqlstate, "08P01");
	CU_ASSERT_STRING_EQUAL(err.message, "too many parameters in startup packet (limit 64)");
	buf_free(&b);
}

/* ------------------------------------------------------------ framing */

static void
test_frame_startup(void)
{
	SgError err;
	size_t total = 0;
	CU_ASSERT_EQUAL(proto_frame_startup(B("\x00\x00"), 10000, &total, &err), FRAME_NEED_MORE);
	CU_ASSERT_EQUAL(proto_frame_startup(B("\x00\x00\x00\x08\x04\xd2"), 10000, &total, &err),
	                FRAME_NEED_MORE);
	CU_ASSERT_EQUAL(proto_frame_startup(B("\x00\x00\x00\x08\x04\xd2\x16\x2f"
	                                      "extra"),
	                                    10000, &total, &err),
	                FRAME_OK);
	CU_ASSERT_EQUAL(total, 8);
	sg_error_clear(&err);
	CU_ASSERT_EQUAL(proto_frame_startup(B("\x00\x00\x00\x07"), 10000, &total, &err), FRAME_ERROR);
	CU_ASSERT_STRING_EQUAL(err.sqlstate, "08P01");
	CU_ASSERT_STRING_EQUAL(err.message, "invalid length of startup packet");
	sg_error_clear(&err);
	CU_ASSERT_EQUAL(proto_frame_startup(B("\x00\x00\x27\x11"), 10000, &total, &err), FRAME_ERROR);
	CU_ASSERT_STRING_EQUAL(err.message, "invalid length of startup packet");
	CU_ASSERT_EQUAL(proto_frame_startup(B("\x00\x00\x27\x10"), 10000, &total, &err),
	                FRAME_NEED_MORE);
	/* a huge length is an error before anything is buffered */
	CU_ASSERT_EQUAL(proto_frame_startup(B("\xff\xff\xff\xff"), 10000, &total, &err), FRAME_ERROR);
}

static void
test_frame(void)
{
	SgError err;
	size_t total = 0;
	char type = 0;
	CU_ASSERT_EQUAL(proto_frame("", 0, 100, &type, &total, &err), FRAME_NEED_MORE);
	CU_ASSERT_EQUAL(proto_frame(B("Q\x00\x00\x00"), 100, &type, &total, &err), FRAME_NEED_MORE);
	CU_ASSERT_EQUAL(proto_frame(B("Q\x00\x00\x00\x09"
	                              "SELE"),
	                            100, &type, &total, &err),
	                FRAME_NEED_MORE);
	CU_ASSERT_EQUAL(proto_frame(B("Q\x00\x00\x00\x09"
	                              "SELE\0Z"),
	                            100, &type, &total, &err),
	                FRAME_OK);
	CU_ASSERT_EQUAL(type, 'Q');
	CU_ASSERT_EQUAL(total, 10);
	CU_ASSERT_EQUAL(proto_frame(B("S\x00\x00\x00\x04"), 100, &type, &total, &err), FRAME_OK);
	CU_ASSERT_EQUAL(type, 'S');
	CU_ASSERT_EQUAL(total, 5);

	sg_error_clear(&err);
	CU_ASSERT_EQUAL(proto_frame(B("Q\x00\x00\x00\x03"), 100, &type, &total, &err), FRAME_ERROR);
	CU_ASSERT_STRING_EQUAL(err.sqlstate, "08P01");
	CU_ASSERT_STRING_EQUAL(err.message, "invalid message length");
	CU_ASSERT_STRING_EQUAL(err.severity, "FATAL");

	/* body limit: 100 bytes of body is fine, 101 is not */
	CU_ASSERT_EQUAL(proto_frame(B("Q\x00\x00\x00\x68"), 100, &type, &total, &err), FRAME_NEED_MORE);
	sg_error_clear(&err);
	CU_ASSERT_EQUAL(proto_frame(B("Q\x00\x00\x00\x69"), 100, &type, &total, &err), FRAME_ERROR);
	CU_ASSERT_STRING_EQUAL(err.sqlstate, "08P01");
	CU_ASSERT_STRING_EQUAL(err.message, "invalid message length");
	CU_ASSERT_EQUAL(proto_frame(B("Q\xff\xff\xff\xff"), 1 << 30, &type, &total, &err), FRAME_ERROR);
}

/* ------------------------------------------------------------ readers */

static void
test_read_query(void)
{
	const char *sql = NULL;
	SgError err;
	CU_ASSERT_TRUE(proto_read_query(B("SELECT 1\0"), &sql, &err));
	CU_ASSERT_STRING_EQUAL(sql, "SELECT 1");
	CU_ASSERT_TRUE(proto_read_query(B("\0"), &sql, &err));
	CU_ASSERT_STRING_EQUAL(sql, "");
	CU_ASSERT_FALSE(proto_read_query(B("SELECT 1"), &sql, &err));
	CU_ASSERT_STRING_EQUAL(err.sqlstate, "08P01");
	CU_ASSERT_STRING_EQUAL(err.message, "invalid string in message");
	CU_ASSERT_FALSE(proto_read_query(B("SELECT 1\0x"), &sql, &err));
	CU_ASSERT_STRING_EQUAL(err.message, "invalid message format");
	CU_ASSERT_FALSE(proto_read_query("", 0, &sql, &err));
}

static void
test_read_password(void)
{
	const char *pw = NULL;
	SgError err;
	CU_ASSERT_TRUE(proto_read_password(B("secret\0"), &pw, &err));
	CU_ASSERT_STRING_EQUAL(pw, "secret");
	CU_ASSERT_FALSE(proto_read_password(B("secret"), &pw, &err));
	CU_ASSERT_STRING_EQUAL(err.sqlstate, "08P01");
	CU_ASSERT_STRING_EQUAL(err.message, "invalid password packet size");
	CU_ASSERT_FALSE(proto_read_password(B("sec\0ret\0"), &pw, &err));
	CU_ASSERT_STRING_EQUAL(err.message, "invalid password packet size");
}

static void
test_read_sasl_initial(void)
{
	const char *mech = NULL, *data = NULL;
	size_t n = 99;
	SgError err;
	CU_ASSERT_TRUE(proto_read_sasl_initial(B("SCRAM-SHA-256\0\x00\x00\x00\x05"
	                                         "n,,ab"),
	                                       &mech, &data, &n, &err));
	CU_ASSERT_STRING_EQUAL(mech, "SCRAM-SHA-256");
	CU_ASSERT_EQUAL(n, 5);
	CU_ASSERT_EQUAL(memcmp(data, "n,,ab", 5), 0);

	CU_ASSERT_TRUE(
	    proto_read_sasl_initial(B("SCRAM-SHA-256\0\xff\xff\xff\xff"), &mech, &data, &n, &err));
	CU_ASSERT_PTR_NULL(data);
	CU_ASSERT_EQUAL(n, 0);

	CU_ASSERT_FALSE(proto_read_sasl_initial(B("SCRAM-SHA-256\0\x00\x00\x00\x06"
	                                          "n,,ab"),
	                                        &mech, &data, &n, &err));
	CU_ASSERT_STRING_EQUAL(err.message, "insufficient data left in message");
	CU_ASSERT_FALSE(
	    proto_read_sasl_initial(B("SCRAM-SHA-256\0\xff\xff\xff\xfe"), &mech, &data, &n, &err));
	CU_ASSERT_STRING_EQUAL(err.message, "insufficient data left in message");
	CU_ASSERT_FALSE(proto_read_sasl_initial(B("SCRAM-SHA-256\0\x00\x00"), &mech, &data, &n, &err));
	CU_ASSERT_STRING_EQUAL(err.message, "insufficient data left in message");
	CU_ASSERT_FALSE(proto_read_sasl_initial(B("SCRAM-SHA-256"), &mech, &data, &n, &err));
	CU_ASSERT_STRING_EQUAL(err.message, "invalid string in message");
	CU_ASSERT_FALSE(proto_read_sasl_initial(B("SCRAM-SHA-256\0\x00\x00\x00\x01"
	                                          "nX"),
	                                        &mech, &data, &n, &err));
	CU_ASSERT_STRING_EQUAL(err.message, "invalid message format");
	CU_ASSERT_STRING_EQUAL(err.sqlstate, "08P01");
}

static void
test_read_command_tag(void)
{
	const char *tag = NULL;
	CU_ASSERT_TRUE(proto_read_command_tag(B("INSERT 0 5\0"), &tag));
	CU_ASSERT_STRING_EQUAL(tag, "INSERT 0 5");
	CU_ASSERT_FALSE(proto_read_command_tag(B("INSERT 0 5"), &tag));
	CU_ASSERT_FALSE(proto_read_command_tag(B("A\0B\0"), &tag));
}

typedef struct TagCase {
	const char *tag;
	bool has_count;
	uint64_t count;
} TagCase;

static const TagCase tag_cases[] = {
    {"INSERT 0 5", true, 5},
    {"SELECT 3", true, 3},
    {"CREATE TABLE", false, 0},
    {"UPDATE 0", true, 0},
    {"COPY 12", true, 12},
    {"DELETE 18446744073709551615", true, UINT64_MAX},
    {"DELETE 18446744073709551616", false, 0},
    {"FETCH 7", true, 7},
    {"BEGIN", false, 0},
    {"", false, 0},
    {"SELECT ", false, 0},
    {"SELECT 3x", false, 0},
    {"5", false, 0},
};

static void
test_tag_count(void)
{
	for (size_t i = 0; i < SG_ARRAY_LEN(tag_cases); i++) {
		uint64_t n = 424242;
		bool has = proto_tag_count(tag_cases[i].tag, &n);
		if (has != tag_cases[i].has_count)
			fprintf(stderr, "tag '%s'\n", tag_cases[i].tag);
		CU_ASSERT_EQUAL(has, tag_cases[i].has_count);
		if (has)
			CU_ASSERT_EQUAL(n, tag_cases[i].count);
	}
}

/* ------------------------------------------------------------ writers */

/* expect_bytes_at: b holds exactly the len bytes at want (else both are dumped); clears b */
static void
expect_bytes_at(Buf *b, const char *want, size_t len, int line)
{
	bool same = buf_avail(b) == len && memcmp(buf_head(b), want, len) == 0;
	if (!same) {
		fprintf(stderr, "\nline %d: got %zu bytes:", line, buf_avail(b));
		for (size_t i = 0; i < buf_avail(b); i++)
			fprintf(stderr, " %02x", (unsigned char)buf_head(b)[i]);
		fprintf(stderr, "\nwant %zu bytes:", len);
		for (size_t i = 0; i < len; i++)
			fprintf(stderr, " %02x", (unsigned char)want[i]);
		fprintf(stderr, "\n");
	}
	CU_ASSERT_TRUE(same);
	buf_clear(b);
}
#define EXPECT_BYTES(b, s) expect_bytes_at((b), s, sizeof(s) - 1, __LINE__)

static void
test_backend_writers(void)
{
	Buf b;
	buf_init(&b);

	proto_write_auth(&b, PQ_AUTH_OK);
	EXPECT_BYTES(&b, "R\x00\x00\x00\x08\x00\x00\x00\x00");
	proto_write_auth(&b, PQ_AUTH_CLEARTEXT);
	EXPECT_BYTES(&b, "R\x00\x00\x00\x08\x00\x00\x00\x03");

	const char *mechs[] = {"SCRAM-SHA-256"};
	proto_write_auth_sasl(&b, mechs, 1);
	EXPECT_BYTES(&b, "R\x00\x00\x00\x17\x00\x00\x00\x0a"
	                 "SCRAM-SHA-256\0\0");

	proto_write_auth_sasl_data(&b, PQ_AUTH_SASL_CONTINUE, "r=ab,s=c,i=1", 12);
	EXPECT_BYTES(&b, "R\x00\x00\x00\x14\x00\x00\x00\x0b"
	                 "r=ab,s=c,i=1");
	proto_write_auth_sasl_data(&b, PQ_AUTH_SASL_FINAL, "v=xy", 4);
	EXPECT_BYTES(&b, "R\x00\x00\x00\x0c\x00\x00\x00\x0c"
	                 "v=xy");

	proto_write_parameter_status(&b, "client_encoding", "UTF8");
	EXPECT_BYTES(&b, "S\x00\x00\x00\x19"
	                 "client_encoding\0UTF8\0");

	proto_write_backend_key(&b, 12345, 0xdeadbeef);
	EXPECT_BYTES(&b, "K\x00\x00\x00\x0c\x00\x00\x30\x39\xde\xad\xbe\xef");

	proto_write_ready(&b, PQ_TXN_IDLE);
	EXPECT_BYTES(&b, "Z\x00\x00\x00\x05I");
	proto_write_ready(&b, PQ_TXN_FAILED);
	EXPECT_BYTES(&b, "Z\x00\x00\x00\x05"
	                 "E");

	proto_write_command_complete(&b, "SELECT 3");
	EXPECT_BYTES(&b, "C\x00\x00\x00\x0dSELECT 3\0");

	proto_write_empty_query(&b);
	EXPECT_BYTES(&b, "I\x00\x00\x00\x04");

	proto_write_message(&b, PQ_MSG_NO_DATA, NULL, 0);
	EXPECT_BYTES(&b, "n\x00\x00\x00\x04");
	proto_write_message(&b, PQ_MSG_COPY_DATA, "ab\n", 3);
	EXPECT_BYTES(&b, "d\x00\x00\x00\x07"
	                 "ab\n");

	const char *names[] = {"b", "n", "t", "v"};
	const uint32_t oids[] = {16, 20, 25, 2278};
	proto_write_row_description(&b, 4, names, oids);
	EXPECT_BYTES(&b, "T\x00\x00\x00\x56\x00\x04"
	                 "b\0\x00\x00\x00\x00\x00\x00\x00\x00\x00\x10\x00\x01\xff\xff\xff\xff\x00\x00"
	                 "n\0\x00\x00\x00\x00\x00\x00\x00\x00\x00\x14\x00\x08\xff\xff\xff\xff\x00\x00"
	                 "t\0\x00\x00\x00\x00\x00\x00\x00\x00\x00\x19\xff\xff\xff\xff\xff\xff\x00\x00"
	                 "v\0\x00\x00\x00\x00\x00\x00\x00\x00\x08\xe6\x00\x04\xff\xff\xff\xff\x00\x00");
	const uint32_t int4[] = {23};
	const char *cnt[] = {"count"};
	proto_write_row_description(&b, 1, cnt, int4);
	EXPECT_BYTES(&b, "T\x00\x00\x00\x1e\x00\x01"
	                 "count\0\x00\x00\x00\x00\x00\x00\x00\x00\x00\x17\x00\x04\xff\xff\xff\xff\x00"
	                 "\x00");
	proto_write_row_description(&b, 0, NULL, NULL);
	EXPECT_BYTES(&b, "T\x00\x00\x00\x06\x00\x00");

	const char *vals[] = {"42", NULL, "a\0b"};
	const int lens[] = {-1, 0, 3};
	proto_write_data_row(&b, 3, vals, lens);
	EXPECT_BYTES(&b, "D\x00\x00\x00\x17\x00\x03"
	                 "\x00\x00\x00\x02"
	                 "42"
	                 "\xff\xff\xff\xff"
	                 "\x00\x00\x00\x03"
	                 "a\0b");
	const char *empty[] = {""};
	proto_write_data_row(&b, 1, empty, NULL);
	EXPECT_BYTES(&b, "D\x00\x00\x00\x0a\x00\x01\x00\x00\x00\x00");

	buf_free(&b);
}

static void
test_error_writers(void)
{
	Buf b;
	buf_init(&b);
	SgError err;

	sg_error_set(&err, SQLSTATE_UNDEFINED_TABLE, "relation \"t\" does not exist");
	proto_write_error(&b, &err);
	EXPECT_BYTES(&b, "E\x00\x00\x00\x37SERROR\0VERROR\0C42P01\0Mrelation \"t\" does not exist\0\0");

	sg_error_set(&err, SQLSTATE_SYNTAX_ERROR, "syntax error");
	sg_error_detail(&err, "d");
	sg_error_hint(&err, "h");
	err.position = 15;
	proto_write_error(&b, &err);
	EXPECT_BYTES(&b, "E\x00\x00\x00\x32SERROR\0VERROR\0C42601\0Msyntax error\0Dd\0Hh\0P15\0\0");

	sg_error_fatal(&err, SQLSTATE_INVALID_PASSWORD,
	               "password authentication failed for user \"u\"");
	proto_write_error(&b, &err);
	EXPECT_BYTES(&b, "E\x00\x00\x00\x47SFATAL\0VFATAL\0C28P01\0"
	                 "Mpassword authentication failed for user \"u\"\0\0");

	sg_error_clear(&err);
	snprintf(err.sqlstate, sizeof(err.sqlstate), "01000");
	snprintf(err.message, sizeof(err.message), "hi");
	proto_write_notice(&b, &err);
	EXPECT_BYTES(&b, "N\x00\x00\x00\x20SNOTICE\0VNOTICE\0C01000\0Mhi\0\0");

	buf_free(&b);
}

static void
test_frontend_writers(void)
{
	Buf b;
	buf_init(&b);

	proto_write_query(&b, "SELECT 1");
	EXPECT_BYTES(&b, "Q\x00\x00\x00\x0dSELECT 1\0");

	const uint32_t types[] = {23, 25};
	proto_write_parse(&b, "s1", "SELECT $1", 2, types);
	EXPECT_BYTES(&b, "P\x00\x00\x00\x1b"
	                 "s1\0SELECT $1\0\x00\x02\x00\x00\x00\x17\x00\x00\x00\x19");
	proto_write_parse(&b, "", "SELECT $1", 1, NULL);
	EXPECT_BYTES(&b, "P\x00\x00\x00\x15\0SELECT $1\0\x00\x01\x00\x00\x00\x00");

	const char *params[] = {"7", NULL};
	proto_write_bind_text(&b, "", "s1", 2, params);
	EXPECT_BYTES(&b, "B\x00\x00\x00\x17\0s1\0\x00\x00\x00\x02"
	                 "\x00\x00\x00\x01"
	                 "7"
	                 "\xff\xff\xff\xff"
	                 "\x00\x00");
	proto_write_bind_text(&b, "p", "", 0, NULL);
	EXPECT_BYTES(&b, "B\x00\x00\x00\x0dp\0\0\x00\x00\x00\x00\x00\x00");

	proto_write_describe(&b, 'S', "s1");
	EXPECT_BYTES(&b, "D\x00\x00\x00\x08Ss1\0");
	proto_write_describe(&b, 'P', "");
	EXPECT_BYTES(&b, "D\x00\x00\x00\x06P\0");

	proto_write_execute(&b, "", 0);
	EXPECT_BYTES(&b, "E\x00\x00\x00\x09\0\x00\x00\x00\x00");
	proto_write_execute(&b, "p", 100);
	EXPECT_BYTES(&b, "E\x00\x00\x00\x0ap\0\x00\x00\x00\x64");

	proto_write_sync(&b);
	EXPECT_BYTES(&b, "S\x00\x00\x00\x04");
	proto_write_terminate(&b);
	EXPECT_BYTES(&b, "X\x00\x00\x00\x04");

	proto_write_cancel_request(&b, 12345, 0xdeadbeef);
	EXPECT_BYTES(&b, "\x00\x00\x00\x10\x04\xd2\x16\x2e\x00\x00\x30\x39\xde\xad\xbe\xef");

	/* several messages append back to back and frame one by one */
	proto_write_query(&b, "x");
	proto_write_sync(&b);
	char type;
	size_t total;
	SgError err;
	CU_ASSERT_EQUAL(proto_frame(buf_head(&b), buf_avail(&b), 100, &type, &total, &err), FRAME_OK);
	CU_ASSERT_EQUAL(type, 'Q');
	CU_ASSERT_EQUAL(total, 7);
	buf_consume(&b, total);
	CU_ASSERT_EQUAL(proto_frame(buf_head(&b), buf_avail(&b), 100, &type, &total, &err), FRAME_OK);
	CU_ASSERT_EQUAL(type, 'S');
	CU_ASSERT_EQUAL(total, 5);

	buf_free(&b);
}

/* ------------------------------------------------------- error fields */

static void
test_error_round_trip(void)
{
	Buf b;
	buf_init(&b);
	SgError in, out;

	sg_error_set(&in, SQLSTATE_SYNTAX_ERROR, "syntax error at or near \"FORM\"");
	sg_error_detail(&in, "some detail");
	sg_error_hint(&in, "some hint");
	in.position = 10;
	proto_write_error(&b, &in);
	char type;
	size_t total;
	SgError ferr;
	CU_ASSERT_EQUAL_FATAL(proto_frame(buf_head(&b), buf_avail(&b), 1000, &type, &total, &ferr),
	                      FRAME_OK);
	CU_ASSERT_EQUAL(type, PQ_MSG_ERROR);
	CU_ASSERT_TRUE(proto_read_error_fields(buf_head(&b) + 5, total - 5, &out));
	CU_ASSERT_STRING_EQUAL(out.severity, "ERROR");
	CU_ASSERT_STRING_EQUAL(out.sqlstate, "42601");
	CU_ASSERT_STRING_EQUAL(out.message, in.message);
	CU_ASSERT_STRING_EQUAL(out.detail, "some detail");
	CU_ASSERT_STRING_EQUAL(out.hint, "some hint");
	CU_ASSERT_EQUAL(out.position, 10);
	CU_ASSERT_EQUAL(memcmp(&in, &out, sizeof(in)), 0);
	buf_clear(&b);

	/* without optional fields */
	sg_error_fatal(&in, SQLSTATE_ADMIN_SHUTDOWN, "terminating connection");
	proto_write_error(&b, &in);
	CU_ASSERT_TRUE(proto_read_error_fields(buf_head(&b) + 5, buf_avail(&b) - 5, &out));
	CU_ASSERT_EQUAL(memcmp(&in, &out, sizeof(in)), 0);
	buf_free(&b);
}

static void
test_read_error_fields(void)
{
	SgError out;
	/* localized S, non-localized V wins; unknown fields skipped; R/L/F ignored */
	CU_ASSERT_TRUE(
	    proto_read_error_fields(B("SFEHLER\0VERROR\0C23505\0Mdup\0Ffile.c\0L12\0\0"), &out));
	CU_ASSERT_STRING_EQUAL(out.severity, "ERROR");
	CU_ASSERT_STRING_EQUAL(out.sqlstate, "23505");
	CU_ASSERT_STRING_EQUAL(out.message, "dup");
	CU_ASSERT_STRING_EQUAL(out.detail, "");
	CU_ASSERT_EQUAL(out.position, 0);

	/* V before S: V still wins */
	CU_ASSERT_TRUE(proto_read_error_fields(B("VWARNING\0SWARNUNG\0C01000\0Mm\0\0"), &out));
	CU_ASSERT_STRING_EQUAL(out.severity, "WARNING");

	/* overlong fields are truncated, not overflowed */
	Buf b;
	buf_init(&b);
	buf_append_u8(&b, 'S');
	buf_append_cstr(&b, "VERYLONGSEVERITYNAME");
	buf_append_u8(&b, 'C');
	buf_append_cstr(&b, "1234567");
	buf_append_u8(&b, 'M');
	for (int i = 0; i < 1000; i++)
		buf_append_u8(&b, 'x');
	buf_append_u8(&b, 0);
	buf_append_u8(&b, 'H');
	for (int i = 0; i < 300; i++)
		buf_append_u8(&b, 'h');
	buf_append_u8(&b, 0);
	buf_append_u8(&b, 'P');
	buf_append_cstr(&b, "99999999999999");
	buf_append_u8(&b, 0);
	CU_ASSERT_TRUE(proto_read_error_fields(b.data, b.len, &out));
	CU_ASSERT_STRING_EQUAL(out.severity, "VERYLONGS");
	CU_ASSERT_STRING_EQUAL(out.sqlstate, "12345");
	CU_ASSERT_EQUAL(strlen(out.message), sizeof(out.message) - 1);
	CU_ASSERT_EQUAL(strlen(out.hint), sizeof(out.hint) - 1);
	CU_ASSERT_TRUE(out.position > 0);
	buf_free(&b);

	/* malformed: missing final terminator, unterminated string, trailing bytes */
	CU_ASSERT_FALSE(proto_read_error_fields(B("SERROR\0C42601\0Mx\0"), &out));
	CU_ASSERT_STRING_EQUAL(out.sqlstate, "08P01");
	CU_ASSERT_STRING_EQUAL(out.message, "invalid message format");
	CU_ASSERT_FALSE(proto_read_error_fields(B("SERROR\0C42601\0Mx"), &out));
	CU_ASSERT_FALSE(proto_read_error_fields(B("SERROR\0\0junk"), &out));
	CU_ASSERT_FALSE(proto_read_error_fields("", 0, &out));
	/* no C field: still reads as an error (XX000) */
	CU_ASSERT_TRUE(proto_read_error_fields(B("SERROR\0Mx\0\0"), &out));
	CU_ASSERT_STRING_EQUAL(out.sqlstate, "XX000");
}

void
sg_register_tests(void)
{
	CU_pSuite s = CU_add_suite("proto", NULL, NULL);
	CU_add_test(s, "startup table", test_startup_table);
	CU_add_test(s, "startup values", test_startup_values);
	CU_add_test(s, "startup too many params", test_startup_too_many_params);
	CU_add_test(s, "frame startup", test_frame_startup);
	CU_add_test(s, "frame", test_frame);
	CU_add_test(s, "read query", test_read_query);
	CU_add_test(s, "read password", test_read_password);
	CU_add_test(s, "read sasl initial", test_read_sasl_initial);
	CU_add_test(s, "read command tag", test_read_command_tag);
	CU_add_test(s, "tag count", test_tag_count);
	CU_add_test(s, "backend writers", test_backend_writers);
	CU_add_test(s, "error writers", test_error_writers);
	CU_add_test(s, "frontend writers", test_frontend_writers);
	CU_add_test(s, "error round trip", test_error_round_trip);
	CU_add_test(s, "read error fields", test_read_error_fields);
}
