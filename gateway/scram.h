#ifndef SG_GATEWAY_SCRAM_H
#define SG_GATEWAY_SCRAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/arena.h"
#include "common/buf.h"
#include "common/error.h"

/*
 * scram: server side of SCRAM-SHA-256 (RFC 5802 / RFC 7677) as PostgreSQL
 * implements it, without channel binding (we offer only "SCRAM-SHA-256",
 * never "-PLUS"). Also PostgreSQL's stored verifier format and the
 * gateway's auth file (pgbouncer userlist.txt style).
 *
 * Flow for the auth code (gateway/auth.c), one exchange per login:
 *
 *   send AuthenticationSASL with SCRAM_MECHANISM
 *   scram_server_start(&x, verifier_or_NULL, user)
 *   SASLInitialResponse: scram_check_message_type, proto_read_sasl_initial,
 *     scram_check_mechanism, scram_server_first(&x, data, len, &out, err)
 *     -> send AuthenticationSASLContinue(out)
 *   SASLResponse: scram_check_message_type, then
 *     scram_server_final(&x, body, len, &out, err)
 *     -> send AuthenticationSASLFinal(out), then AuthenticationOk
 *   scram_server_clear(&x) when done either way.
 *
 * Every failure fills err with severity FATAL (authentication errors end
 * the session, as in PostgreSQL): 08P01 for malformed SCRAM messages,
 * 0A000 for unsupported features, 28P01 `password authentication failed
 * for user "<user>"` for a wrong password or an unknown user.
 */

#define SCRAM_MECHANISM "SCRAM-SHA-256"
#define SCRAM_KEY_LEN 32
#define SCRAM_DEFAULT_ITERATIONS 4096
#define SCRAM_DEFAULT_SALT_LEN 16
#define SCRAM_MAX_SALT_LEN 64
#define SCRAM_RAW_NONCE_LEN 18
#define SCRAM_MAX_MESSAGE_LEN 1024 /* longest client SCRAM message accepted */
#define SCRAM_MAX_USER_LEN 128

/* ScramVerifier: decoded form of SCRAM-SHA-256$<iter>:<salt>$<StoredKey>:<ServerKey> */
typedef struct ScramVerifier {
	int iterations;
	size_t salt_len;
	uint8_t salt[SCRAM_MAX_SALT_LEN];
	uint8_t stored_key[SCRAM_KEY_LEN];
	uint8_t server_key[SCRAM_KEY_LEN];
} ScramVerifier;

typedef enum ScramState {
	SCRAM_STATE_INIT,      /* started, waiting for client-first-message */
	SCRAM_STATE_SALT_SENT, /* server-first-message built, waiting for client-final */
	SCRAM_STATE_DONE       /* succeeded or failed; no further message accepted */
} ScramState;

/*
 * ScramExchange: one login's SCRAM state, embedded in its owner (the
 * session); holds copies of everything it needs, no pointers to outside
 * memory. Fields are private to scram.c except server_nonce, which a test
 * may preset (NUL-terminated, printable) after scram_server_start to replay
 * a known exchange; otherwise it is drawn from RAND_bytes.
 */
typedef struct ScramExchange {
	ScramState state;
	bool is_doomed;  /* mock exchange for an unknown user: fails at the end */
	char cbind_flag; /* 'n' or 'y' from the gs2 header */
	ScramVerifier verifier;
	char user[SCRAM_MAX_USER_LEN]; /* for the error message */
	char server_nonce[SCRAM_MAX_MESSAGE_LEN / 2];
	char client_first_bare[SCRAM_MAX_MESSAGE_LEN + 1];
	size_t client_nonce_off, client_nonce_len; /* within client_first_bare */
	char server_first[SCRAM_MAX_MESSAGE_LEN * 2];
} ScramExchange;

/*
 * scram_parse_verifier decodes PostgreSQL's stored secret format
 * "SCRAM-SHA-256$<iterations>:<salt base64>$<StoredKey base64>:<ServerKey base64>".
 * False (out unspecified) if s is anything else: another scheme (md5...),
 * bad base64, keys not 32 bytes, salt empty or longer than SCRAM_MAX_SALT_LEN,
 * iterations not in 1..INT_MAX.
 */
SG_MUSTCHECK bool scram_parse_verifier(const char *s, ScramVerifier *out);

/*
 * scram_make_verifier builds a verifier string for password with a random
 * 16-byte salt (OpenSSL RAND_bytes) and iterations rounds (<= 0: 4096), in
 * arena a. The password is used as its raw bytes: PostgreSQL applies
 * SASLprep first, which leaves ASCII passwords unchanged, so verifiers made
 * here match PostgreSQL's for ASCII passwords and for non-ASCII ones that
 * SASLprep leaves alone (already NFKC, no special spaces). NULL only if the
 * random generator fails.
 */
char *scram_make_verifier(Arena *a, const char *password, int iterations);
/* scram_make_verifier_with_salt: the same with a given salt (tests, reproducible output) */
char *scram_make_verifier_with_salt(Arena *a, const char *password, const uint8_t *salt,
                                    size_t salt_len, int iterations);

/*
 * scram_check_message_type: the client's answer during SASL must be a
 * PasswordMessage-type ('p') message; else 08P01 FATAL "expected SASL
 * response, got message type %d", as PostgreSQL says.
 */
SG_MUSTCHECK bool scram_check_message_type(char type, SgError *err);
/* scram_check_mechanism: mechanism must be SCRAM-SHA-256; else 08P01 FATAL */
SG_MUSTCHECK bool scram_check_mechanism(const char *mechanism, SgError *err);

/*
 * scram_server_start prepares x for one exchange for user (copied,
 * truncated to SCRAM_MAX_USER_LEN-1). v NULL means the user is unknown (or
 * has no SCRAM secret): x then runs a mock exchange with a salt derived from
 * the user name and a per-process random key (stable across attempts, so
 * probing cannot tell unknown users from real ones), and fails at the end
 * with the same 28P01 as a wrong password. v is copied.
 */
void scram_server_start(ScramExchange *x, const ScramVerifier *v, const char *user);

/*
 * scram_server_first reads the client-first-message (the SASLInitialResponse
 * data, len bytes, not NUL-terminated) and appends the server-first-message
 * ("r=<nonce>,s=<salt>,i=<iterations>", no NUL) to out, for an
 * AuthenticationSASLContinue. Accepts gs2 headers "n,," and "y,,"; refuses
 * "p=..." (channel binding was not offered), an authzid, and mandatory
 * extensions. False with err filled (FATAL) on any error; x is then DONE.
 */
SG_MUSTCHECK bool scram_server_first(ScramExchange *x, const char *client_first, size_t len,
                                     Buf *server_first_out, SgError *err);

/*
 * scram_server_final reads the client-final-message (the SASLResponse body)
 * and checks channel binding, nonce and proof. On success appends the
 * server-final-message ("v=<ServerSignature>") to out, for an
 * AuthenticationSASLFinal, and returns true: the client is authenticated.
 * A wrong proof or a mock exchange gives 28P01 FATAL `password
 * authentication failed for user "<user>"`; malformed input 08P01. x is DONE
 * afterwards either way.
 */
SG_MUSTCHECK bool scram_server_final(ScramExchange *x, const char *client_final, size_t len,
                                     Buf *server_final_out, SgError *err);

/* scram_server_clear wipes x (keys and messages); call when the exchange ends */
void scram_server_clear(ScramExchange *x);

/*
 * scram_auth_file_lookup finds user in an auth file: one user per line,
 * `"username" "SCRAM-SHA-256$..."` (pgbouncer userlist.txt style; inside
 * quotes "" stands for one "), blank lines and lines starting with '#' or
 * ';' ignored. Sets *found and, when found, *out. Returns false with err
 * (FATAL) only on file errors: cannot open/read (58030), a line that does
 * not have the two quoted fields (F0000, with path and line number), or the
 * user's own line carrying a secret that is not a valid SCRAM-SHA-256
 * verifier (F0000). Blocking file I/O: call it at startup/reload or accept
 * the cost of a small local read per login.
 */
SG_MUSTCHECK bool scram_auth_file_lookup(const char *path, const char *user, ScramVerifier *out,
                                         bool *found, SgError *err);

#endif /* SG_GATEWAY_SCRAM_H */
