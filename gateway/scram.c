/*
 * scram.c: SCRAM-SHA-256 server side (RFC 5802, RFC 7677) the way PostgreSQL
 * does it, PostgreSQL's verifier format, and the gateway's auth file.
 *
 * Exchange (ScramExchange, embedded in the session):
 *   INIT --scram_server_first--> SALT_SENT --scram_server_final--> DONE
 * Any error moves to DONE too; a DONE exchange accepts nothing more.
 *
 *   client-first  = gs2-header client-first-bare, gs2-header "n,," or "y,,",
 *                   client-first-bare = "n=<ignored>,r=<c-nonce>[,ext...]"
 *   server-first  = "r=<c-nonce><s-nonce>,s=<salt b64>,i=<iterations>"
 *   client-final  = "c=<b64 gs2-header>,r=<nonce>[,ext...],p=<proof b64>"
 *   server-final  = "v=<ServerSignature b64>"
 *
 * AuthMessage = client-first-bare "," server-first "," client-final-without-proof;
 * the client proves ClientKey = ClientProof XOR HMAC(StoredKey, AuthMessage)
 * with SHA256(ClientKey) == StoredKey, the server proves itself with
 * HMAC(ServerKey, AuthMessage). As in PostgreSQL the SCRAM user name is
 * ignored (the startup packet's is used), channel binding is not offered,
 * and an unknown user gets a mock exchange that fails only at the end.
 *
 * Invariants: every client message is copied into a bounded, NUL-terminated
 * buffer before parsing (no NULs inside, at most SCRAM_MAX_MESSAGE_LEN
 * bytes); secrets on the stack are wiped with OPENSSL_cleanse; comparisons
 * of secrets are constant-time (CRYPTO_memcmp). OpenSSL stays in this file
 * (and gateway/tls.c). Nothing here is logged: SCRAM material is secret.
 */
#include "gateway/scram.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "common/macros.h"
#include "common/proto.h"

#define SCRAM_SQLSTATE_IO_ERROR "58030"
#define SCRAM_SQLSTATE_CONFIG_FILE_ERROR "F0000"

/* ----------------------------------------------------------------- base64 */

static const char b64_chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* B64_ENC_LEN: encoded length of n bytes, without NUL (a constant expression: no VLAs) */
#define B64_ENC_LEN(n) (((n) + 2) / 3 * 4)

/* b64_encode writes the padded encoding of src[0..n) and a NUL to dst (B64_ENC_LEN(n)+1 bytes) */
static void
b64_encode(const uint8_t *src, size_t n, char *dst)
{
	size_t i = 0, o = 0;
	for (; i + 2 < n; i += 3) {
		uint32_t v = (uint32_t)src[i] << 16 | (uint32_t)src[i + 1] << 8 | src[i + 2];
		dst[o++] = b64_chars[v >> 18];
		dst[o++] = b64_chars[(v >> 12) & 63];
		dst[o++] = b64_chars[(v >> 6) & 63];
		dst[o++] = b64_chars[v & 63];
	}
	if (i < n) {
		uint32_t v = (uint32_t)src[i] << 16 | (i + 1 < n ? (uint32_t)src[i + 1] << 8 : 0);
		dst[o++] = b64_chars[v >> 18];
		dst[o++] = b64_chars[(v >> 12) & 63];
		dst[o++] = i + 1 < n ? b64_chars[(v >> 6) & 63] : '=';
		dst[o++] = '=';
	}
	dst[o] = '\0';
}

static int
b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/*
 * b64_decode: strict decoding of src[0..n) (length a multiple of 4, padding
 * only at the end) into dst of capacity cap. Returns the decoded length, or
 * -1 on bad input or when it would not fit.
 */
static long
b64_decode(const char *src, size_t n, uint8_t *dst, size_t cap)
{
	if (n % 4 != 0)
		return -1;
	size_t o = 0;
	for (size_t i = 0; i < n; i += 4) {
		int v[4], pad = 0;
		for (int k = 0; k < 4; k++) {
			char c = src[i + k];
			if (c == '=' && i + 4 == n && k >= 2) {
				v[k] = 0;
				pad++;
			} else if (pad > 0 || (v[k] = b64_value(c)) < 0) {
				return -1;
			}
		}
		uint32_t w =
		    (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
		size_t nout = 3 - (size_t)pad;
		if (o + nout > cap)
			return -1;
		dst[o++] = (uint8_t)(w >> 16);
		if (nout > 1)
			dst[o++] = (uint8_t)(w >> 8);
		if (nout > 2)
			dst[o++] = (uint8_t)w;
	}
	return (long)o;
}

/* ------------------------------------------------------------- primitives */

static void
hmac_sha256(const uint8_t *key, size_t key_len, const void *data, size_t len,
            uint8_t out[SCRAM_KEY_LEN])
{
	unsigned int out_len = SCRAM_KEY_LEN;
	if (HMAC(EVP_sha256(), key, (int)key_len, data, len, out, &out_len) == NULL) {
		fprintf(stderr, "shardgate: HMAC-SHA-256 failed\n");
		abort();
	}
}

/* scram_keys derives StoredKey and ServerKey from a password, as PostgreSQL's scram_build_secret */
static void
scram_keys(const char *password, const uint8_t *salt, size_t salt_len, int iterations,
           uint8_t stored_key[SCRAM_KEY_LEN], uint8_t server_key[SCRAM_KEY_LEN])
{
	uint8_t salted[SCRAM_KEY_LEN], client_key[SCRAM_KEY_LEN];

	if (PKCS5_PBKDF2_HMAC(password, (int)strlen(password), salt, (int)salt_len, iterations,
	                      EVP_sha256(), SCRAM_KEY_LEN, salted) != 1) {
		fprintf(stderr, "shardgate: PBKDF2 failed\n");
		abort();
	}
	hmac_sha256(salted, SCRAM_KEY_LEN, "Client Key", 10, client_key);
	SHA256(client_key, SCRAM_KEY_LEN, stored_key);
	hmac_sha256(salted, SCRAM_KEY_LEN, "Server Key", 10, server_key);
	OPENSSL_cleanse(salted, sizeof(salted));
	OPENSSL_cleanse(client_key, sizeof(client_key));
}

/* ---------------------------------------------------------------- verifier */

/* parse_b64_field decodes src[0..n) into dst (cap bytes); false unless 1..cap bytes result */
static bool
parse_b64_field(const char *src, size_t n, uint8_t *dst, size_t cap, size_t *out_len)
{
	long got = b64_decode(src, n, dst, cap);
	if (got <= 0)
		return false;
	*out_len = (size_t)got;
	return true;
}

bool
scram_parse_verifier(const char *s, ScramVerifier *out)
{
	static const char scheme[] = "SCRAM-SHA-256$";
	size_t klen;

	memset(out, 0, sizeof(*out));
	if (strncmp(s, scheme, sizeof(scheme) - 1) != 0)
		return false;
	const char *p = s + sizeof(scheme) - 1;

	/* iterations */
	if (*p < '1' || *p > '9')
		return false;
	long iter = 0;
	for (; *p >= '0' && *p <= '9'; p++) {
		iter = iter * 10 + (*p - '0');
		if (iter > INT_MAX)
			return false;
	}
	if (*p++ != ':')
		return false;
	out->iterations = (int)iter;

	const char *dollar = strchr(p, '$');
	if (dollar == NULL ||
	    !parse_b64_field(p, (size_t)(dollar - p), out->salt, sizeof(out->salt), &out->salt_len))
		return false;
	p = dollar + 1;

	const char *colon = strchr(p, ':');
	if (colon == NULL ||
	    !parse_b64_field(p, (size_t)(colon - p), out->stored_key, SCRAM_KEY_LEN, &klen) ||
	    klen != SCRAM_KEY_LEN)
		return false;
	p = colon + 1;
	if (!parse_b64_field(p, strlen(p), out->server_key, SCRAM_KEY_LEN, &klen) ||
	    klen != SCRAM_KEY_LEN)
		return false;
	return true;
}

char *
scram_make_verifier_with_salt(Arena *a, const char *password, const uint8_t *salt, size_t salt_len,
                              int iterations)
{
	uint8_t stored[SCRAM_KEY_LEN], server[SCRAM_KEY_LEN];
	char salt64[B64_ENC_LEN(SCRAM_MAX_SALT_LEN) + 1];
	char stored64[B64_ENC_LEN(SCRAM_KEY_LEN) + 1], server64[B64_ENC_LEN(SCRAM_KEY_LEN) + 1];

	SG_ASSERT(salt_len > 0 && salt_len <= SCRAM_MAX_SALT_LEN);
	if (iterations <= 0)
		iterations = SCRAM_DEFAULT_ITERATIONS;
	scram_keys(password, salt, salt_len, iterations, stored, server);
	b64_encode(salt, salt_len, salt64);
	b64_encode(stored, SCRAM_KEY_LEN, stored64);
	b64_encode(server, SCRAM_KEY_LEN, server64);
	OPENSSL_cleanse(stored, sizeof(stored));
	OPENSSL_cleanse(server, sizeof(server));
	return arena_printf(a, "SCRAM-SHA-256$%d:%s$%s:%s", iterations, salt64, stored64, server64);
}

char *
scram_make_verifier(Arena *a, const char *password, int iterations)
{
	uint8_t salt[SCRAM_DEFAULT_SALT_LEN];
	if (RAND_bytes(salt, sizeof(salt)) != 1)
		return NULL;
	return scram_make_verifier_with_salt(a, password, salt, sizeof(salt), iterations);
}

/* ------------------------------------------------------------ mock salts */

/* mock_key: per-process random key for mock salts; written once, then constant */
static uint8_t mock_key[32];
static pthread_once_t mock_key_once = PTHREAD_ONCE_INIT;

static void
mock_key_init(void)
{
	if (RAND_bytes(mock_key, sizeof(mock_key)) != 1) {
		fprintf(stderr, "shardgate: cannot generate random bytes (RAND_bytes)\n");
		abort();
	}
}

/* mock_verifier: salt = SHA256(user || mock_key)[0..16), default iterations, zero keys */
static void
mock_verifier(const char *user, ScramVerifier *v)
{
	uint8_t digest[SHA256_DIGEST_LENGTH];

	pthread_once(&mock_key_once, mock_key_init);
	memset(v, 0, sizeof(*v));
	/* one-shot SHA256 over user || key (SHA256_Init and friends are deprecated in OpenSSL 3) */
	size_t ulen = strlen(user);
	uint8_t buf[SCRAM_MAX_USER_LEN + sizeof(mock_key)];
	memcpy(buf, user, ulen);
	memcpy(buf + ulen, mock_key, sizeof(mock_key));
	SHA256(buf, ulen + sizeof(mock_key), digest);
	memcpy(v->salt, digest, SCRAM_DEFAULT_SALT_LEN);
	v->salt_len = SCRAM_DEFAULT_SALT_LEN;
	v->iterations = SCRAM_DEFAULT_ITERATIONS;
	OPENSSL_cleanse(buf, sizeof(buf));
}

/* ---------------------------------------------------------------- parsing */

/* scram_malformed: 08P01 FATAL "malformed SCRAM message" with detail; the exchange is over */
static bool
scram_malformed(ScramExchange *x, SgError *err, const char *detail)
{
	x->state = SCRAM_STATE_DONE;
	sg_error_fatal(err, SQLSTATE_PROTOCOL_VIOLATION, "malformed SCRAM message");
	sg_error_detail(err, "%s", detail);
	return false;
}

/* char_name: a character for an error detail: 'c' when printable, else 0xNN */
static void
char_name(char c, char out[8])
{
	if (c >= 0x21 && c <= 0x7e)
		snprintf(out, 8, "'%c'", c);
	else
		snprintf(out, 8, "0x%02x", (unsigned char)c);
}

/*
 * read_attr reads "<attr>=<value>" at *p (value ends at ',' or NUL); *p moves
 * past the value and its comma. want == 0 accepts any letter and reports it
 * in *got. False with err (08P01) on a missing/unexpected attribute or '='.
 */
static bool
read_attr(ScramExchange *x, const char **p, char want, char *got, const char **val, size_t *vlen,
          SgError *err)
{
	const char *s = *p;
	char cn[8], detail[96];

	if (want != 0 && *s != want) {
		char_name(*s, cn);
		snprintf(detail, sizeof(detail), "Expected attribute \"%c\" but found \"%s\".", want, cn);
		return scram_malformed(x, err, detail);
	}
	if (want == 0 && !((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z'))) {
		char_name(*s, cn);
		snprintf(detail, sizeof(detail), "Attribute expected, but found invalid character \"%s\".",
		         cn);
		return scram_malformed(x, err, detail);
	}
	if (got != NULL)
		*got = *s;
	if (s[1] != '=') {
		snprintf(detail, sizeof(detail), "Expected character \"=\" for attribute \"%c\".", *s);
		return scram_malformed(x, err, detail);
	}
	s += 2;
	const char *end = s;
	while (*end != '\0' && *end != ',')
		end++;
	*val = s;
	*vlen = (size_t)(end - s);
	*p = *end == ',' ? end + 1 : end;
	return true;
}

/*
 * copy_message checks a client SCRAM message (non-empty, no NUL inside, at
 * most SCRAM_MAX_MESSAGE_LEN bytes) and copies it NUL-terminated into dst.
 */
static bool
copy_message(ScramExchange *x, const char *msg, size_t len, char dst[SCRAM_MAX_MESSAGE_LEN + 1],
             SgError *err)
{
	if (msg == NULL || len == 0)
		return scram_malformed(x, err, "The message is empty.");
	if (memchr(msg, '\0', len) != NULL)
		return scram_malformed(x, err, "Message length does not match input length.");
	if (len > SCRAM_MAX_MESSAGE_LEN)
		return scram_malformed(x, err, "The message is too long.");
	memcpy(dst, msg, len);
	dst[len] = '\0';
	return true;
}

/* -------------------------------------------------------------- exchange */

bool
scram_check_message_type(char type, SgError *err)
{
	if (type != PQ_MSG_PASSWORD)
		return sg_error_fatal(err, SQLSTATE_PROTOCOL_VIOLATION,
		                      "expected SASL response, got message type %d", type);
	return true;
}

bool
scram_check_mechanism(const char *mechanism, SgError *err)
{
	if (strcmp(mechanism, SCRAM_MECHANISM) != 0)
		return sg_error_fatal(err, SQLSTATE_PROTOCOL_VIOLATION,
		                      "client selected an invalid SASL authentication mechanism");
	return true;
}

void
scram_server_start(ScramExchange *x, const ScramVerifier *v, const char *user)
{
	memset(x, 0, sizeof(*x));
	snprintf(x->user, sizeof(x->user), "%s", user);
	x->state = SCRAM_STATE_INIT;
	if (v != NULL) {
		x->verifier = *v;
	} else {
		x->is_doomed = true;
		mock_verifier(x->user, &x->verifier);
	}
}

void
scram_server_clear(ScramExchange *x)
{
	OPENSSL_cleanse(x, sizeof(*x));
	x->state = SCRAM_STATE_DONE;
}

bool
scram_server_first(ScramExchange *x, const char *client_first, size_t len, Buf *server_first_out,
                   SgError *err)
{
	char msg[SCRAM_MAX_MESSAGE_LEN + 1], cn[8], detail[96];
	const char *val;
	size_t vlen;

	if (x->state != SCRAM_STATE_INIT) {
		x->state = SCRAM_STATE_DONE;
		return sg_error_fatal(err, SQLSTATE_PROTOCOL_VIOLATION, "invalid SCRAM exchange state");
	}
	if (!copy_message(x, client_first, len, msg, err))
		return false;

	/* gs2-header: cbind flag, ',', no authzid, ',' */
	const char *p = msg;
	switch (*p) {
	case 'n':
	case 'y':
		x->cbind_flag = *p++;
		break;
	case 'p':
		return scram_malformed(x, err,
		                       "The client selected SCRAM-SHA-256 without channel binding, but "
		                       "the SCRAM message includes channel binding data.");
	default:
		char_name(*p, cn);
		snprintf(detail, sizeof(detail), "Unexpected channel-binding flag \"%s\".", cn);
		return scram_malformed(x, err, detail);
	}
	if (*p != ',') {
		char_name(*p, cn);
		snprintf(detail, sizeof(detail), "Comma expected, but found character \"%s\".", cn);
		return scram_malformed(x, err, detail);
	}
	p++;
	if (*p == 'a') {
		x->state = SCRAM_STATE_DONE;
		return sg_error_fatal(err, SQLSTATE_FEATURE_NOT_SUPPORTED,
		                      "client uses authorization identity, but it is not supported");
	}
	if (*p != ',') {
		char_name(*p, cn);
		snprintf(detail, sizeof(detail), "Unexpected attribute \"%s\" in client-first-message.",
		         cn);
		return scram_malformed(x, err, detail);
	}
	p++;

	/* client-first-message-bare */
	size_t bare_off = (size_t)(p - msg);
	if (*p == 'm') {
		x->state = SCRAM_STATE_DONE;
		return sg_error_fatal(err, SQLSTATE_FEATURE_NOT_SUPPORTED,
		                      "client requires an unsupported SCRAM extension");
	}
	if (!read_attr(x, &p, 'n', NULL, &val, &vlen, err)) /* user name: ignored, as PostgreSQL */
		return false;
	if (!read_attr(x, &p, 'r', NULL, &val, &vlen, err))
		return false;
	for (size_t i = 0; i < vlen; i++) {
		if (val[i] < 0x21 || val[i] > 0x7e) {
			x->state = SCRAM_STATE_DONE;
			return sg_error_fatal(err, SQLSTATE_PROTOCOL_VIOLATION,
			                      "non-printable characters in SCRAM nonce");
		}
	}
	x->client_nonce_off = (size_t)(val - msg) - bare_off;
	x->client_nonce_len = vlen;
	while (*p != '\0') /* optional extensions: ignored */
		if (!read_attr(x, &p, 0, NULL, &val, &vlen, err))
			return false;
	snprintf(x->client_first_bare, sizeof(x->client_first_bare), "%s", msg + bare_off);

	/* server nonce (preset only by tests), then server-first-message */
	if (x->server_nonce[0] == '\0') {
		uint8_t raw[SCRAM_RAW_NONCE_LEN];
		if (RAND_bytes(raw, sizeof(raw)) != 1) {
			x->state = SCRAM_STATE_DONE;
			return sg_error_fatal(err, SQLSTATE_INTERNAL_ERROR, "could not generate random nonce");
		}
		SG_ASSERT(B64_ENC_LEN(sizeof(raw)) < sizeof(x->server_nonce));
		b64_encode(raw, sizeof(raw), x->server_nonce);
	}
	char salt64[B64_ENC_LEN(SCRAM_MAX_SALT_LEN) + 1];
	b64_encode(x->verifier.salt, x->verifier.salt_len, salt64);
	int n = snprintf(x->server_first, sizeof(x->server_first), "r=%.*s%s,s=%s,i=%d",
	                 (int)x->client_nonce_len, x->client_first_bare + x->client_nonce_off,
	                 x->server_nonce, salt64, x->verifier.iterations);
	SG_ASSERT(n > 0 && (size_t)n < sizeof(x->server_first));
	buf_append(server_first_out, x->server_first, (size_t)n);
	x->state = SCRAM_STATE_SALT_SENT;
	return true;
}

/* nonce_matches: the client-final nonce is exactly client nonce + server nonce */
static bool
nonce_matches(const ScramExchange *x, const char *nonce, size_t len)
{
	size_t slen = strlen(x->server_nonce);
	return len == x->client_nonce_len + slen &&
	       memcmp(nonce, x->client_first_bare + x->client_nonce_off, x->client_nonce_len) == 0 &&
	       memcmp(nonce + x->client_nonce_len, x->server_nonce, slen) == 0;
}

bool
scram_server_final(ScramExchange *x, const char *client_final, size_t len, Buf *server_final_out,
                   SgError *err)
{
	char msg[SCRAM_MAX_MESSAGE_LEN + 1];
	const char *val;
	size_t vlen;
	char attr;

	if (x->state != SCRAM_STATE_SALT_SENT) {
		x->state = SCRAM_STATE_DONE;
		return sg_error_fatal(err, SQLSTATE_PROTOCOL_VIOLATION, "invalid SCRAM exchange state");
	}
	if (!copy_message(x, client_final, len, msg, err))
		return false;

	/* channel binding: base64 of the gs2 header we saw, "n,," or "y,," */
	const char *p = msg;
	if (!read_attr(x, &p, 'c', NULL, &val, &vlen, err))
		return false;
	const char *want = x->cbind_flag == 'y' ? "eSws" : "biws";
	if (vlen != 4 || memcmp(val, want, 4) != 0) {
		x->state = SCRAM_STATE_DONE;
		return sg_error_fatal(err, SQLSTATE_PROTOCOL_VIOLATION,
		                      "unexpected SCRAM channel-binding attribute in "
		                      "client-final-message");
	}
	const char *nonce;
	size_t nonce_len;
	if (!read_attr(x, &p, 'r', NULL, &nonce, &nonce_len, err))
		return false;

	/* extensions until the proof; remember where the proof attribute starts */
	const char *proof_at;
	do {
		proof_at = p;
		if (!read_attr(x, &p, 0, &attr, &val, &vlen, err))
			return false;
	} while (attr != 'p');
	uint8_t proof[SCRAM_KEY_LEN + 3];
	if (b64_decode(val, vlen, proof, sizeof(proof)) != SCRAM_KEY_LEN)
		return scram_malformed(x, err, "Malformed proof in client-final-message.");
	if (val[vlen] != '\0')
		return scram_malformed(x, err, "Garbage found at the end of client-final-message.");
	size_t without_proof_len = (size_t)(proof_at - msg) - 1; /* drop the comma before p= */

	if (!nonce_matches(x, nonce, nonce_len)) {
		x->state = SCRAM_STATE_DONE;
		sg_error_fatal(err, SQLSTATE_PROTOCOL_VIOLATION, "invalid SCRAM response");
		sg_error_detail(err, "Nonce does not match.");
		return false;
	}

	/* AuthMessage; then ClientKey = proof XOR ClientSignature, check H(ClientKey) */
	char auth[sizeof(x->client_first_bare) + sizeof(x->server_first) + sizeof(msg) + 2];
	int alen = snprintf(auth, sizeof(auth), "%s,%s,%.*s", x->client_first_bare, x->server_first,
	                    (int)without_proof_len, msg);
	SG_ASSERT(alen > 0 && (size_t)alen < sizeof(auth));

	uint8_t sig[SCRAM_KEY_LEN], client_key[SCRAM_KEY_LEN], h[SCRAM_KEY_LEN];
	hmac_sha256(x->verifier.stored_key, SCRAM_KEY_LEN, auth, (size_t)alen, sig);
	for (int i = 0; i < SCRAM_KEY_LEN; i++)
		client_key[i] = proof[i] ^ sig[i];
	SHA256(client_key, SCRAM_KEY_LEN, h);
	bool is_ok = CRYPTO_memcmp(h, x->verifier.stored_key, SCRAM_KEY_LEN) == 0;
	OPENSSL_cleanse(client_key, sizeof(client_key));
	OPENSSL_cleanse(sig, sizeof(sig));
	x->state = SCRAM_STATE_DONE;
	if (!is_ok || x->is_doomed) /* a mock exchange did the same work, then fails */
		return sg_error_fatal(err, SQLSTATE_INVALID_PASSWORD,
		                      "password authentication failed for user \"%s\"", x->user);

	uint8_t server_sig[SCRAM_KEY_LEN];
	char sig64[B64_ENC_LEN(SCRAM_KEY_LEN) + 1];
	hmac_sha256(x->verifier.server_key, SCRAM_KEY_LEN, auth, (size_t)alen, server_sig);
	b64_encode(server_sig, SCRAM_KEY_LEN, sig64);
	buf_append(server_final_out, "v=", 2);
	buf_append(server_final_out, sig64, strlen(sig64));
	return true;
}

/* -------------------------------------------------------------- auth file */

/*
 * unquote reads a "..." field at *p ("" inside is one quote), decoding it in
 * place (the result is never longer); *p moves past the closing quote.
 */
static bool
unquote(char **p, char **out)
{
	char *r = *p, *w;
	if (*r != '"')
		return false;
	w = *out = ++r;
	for (;;) {
		if (*r == '\0')
			return false;
		if (*r == '"') {
			if (r[1] != '"')
				break;
			r++;
		}
		*w++ = *r++;
	}
	*p = r + 1;
	*w = '\0';
	return true;
}

static char *
skip_space(char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
		p++;
	return p;
}

bool
scram_auth_file_lookup(const char *path, const char *user, ScramVerifier *out, bool *found,
                       SgError *err)
{
	FILE *f = fopen(path, "re");
	char *line = NULL;
	size_t cap = 0;
	int lineno = 0;
	bool is_ok = true;

	*found = false;
	if (f == NULL)
		return sg_error_fatal(err, SCRAM_SQLSTATE_IO_ERROR, "could not open auth file \"%s\": %s",
		                      path, strerror(errno));
	errno = 0;
	while (getline(&line, &cap, f) >= 0) {
		char *p = skip_space(line), *name, *secret;
		lineno++;
		if (*p == '\0' || *p == '#' || *p == ';')
			continue;
		if (!unquote(&p, &name) || (p = skip_space(p), !unquote(&p, &secret)) ||
		    *skip_space(p) != '\0') {
			sg_error_fatal(err, SCRAM_SQLSTATE_CONFIG_FILE_ERROR,
			               "invalid line %d in auth file \"%s\"", lineno, path);
			sg_error_detail(err, "Expected \"username\" \"SCRAM-SHA-256$...\".");
			is_ok = false;
			break;
		}
		if (strcmp(name, user) != 0)
			continue;
		if (!scram_parse_verifier(secret, out)) {
			sg_error_fatal(err, SCRAM_SQLSTATE_CONFIG_FILE_ERROR,
			               "auth file \"%s\" line %d: the secret of user \"%s\" is not a valid "
			               "SCRAM-SHA-256 verifier",
			               path, lineno, user);
			sg_error_hint(err, "Make one with: shardgate --make-scram-verifier PASSWORD");
			is_ok = false;
			break;
		}
		*found = true;
		break;
	}
	if (is_ok && !*found && ferror(f)) {
		sg_error_fatal(err, SCRAM_SQLSTATE_IO_ERROR, "could not read auth file \"%s\": %s", path,
		               strerror(errno));
		is_ok = false;
	}
	if (line != NULL) {
		OPENSSL_cleanse(line, cap);
		free(line);
	}
	fclose(f);
	return is_ok;
}
