/*
 * config.c: settings table, file parser and validation. One table maps each
 * key to its field and kind, so the file, the flags and --help agree.
 */
#include "common/config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum SettingKind { SET_STRING, SET_INT, SET_SIZE, SET_LOGLEVEL } SettingKind;

typedef struct Setting {
	const char *key;
	SettingKind kind;
	size_t offset;
	size_t size; /* strings: buffer size */
	long min, max;
} Setting;

#define STR(f) SET_STRING, offsetof(Config, f), sizeof(((Config *)0)->f), 0, 0
#define INT(f, lo, hi) SET_INT, offsetof(Config, f), 0, lo, hi
#define SIZE(f, lo, hi) SET_SIZE, offsetof(Config, f), 0, lo, hi

static const Setting settings[] = {
    {"listen_addr", STR(listen_addr)},
    {"port", INT(port, 1, 65535)},
    {"metadata_node", STR(metadata_node)},
    {"auth_type", STR(auth_type)},
    {"auth_file", STR(auth_file)},
    {"pidfile", STR(pidfile)},
    {"log_level", SET_LOGLEVEL, offsetof(Config, log_level), 0, 0, 0},
    {"max_message_size", SIZE(max_message_size, 1024, 1073741824L)},
    {"max_startup_packet", SIZE(max_startup_packet, 64, 1048576L)},
    {"client_out_limit", SIZE(client_out_limit, 4096, 1073741824L)},
    {"pool_size", INT(pool_size, 1, 10000)},
    {"pool_idle", INT(pool_idle, 0, 10000)},
    {"pool_wait_timeout_ms", INT(pool_wait_timeout_ms, 1, 3600000)},
    {"max_client_conn", INT(max_client_conn, 1, 1000000)},
    {"catalog_poll_ms", INT(catalog_poll_ms, 50, 3600000)},
    {"stats_interval_ms", INT(stats_interval_ms, 0, 86400000)},
    {"semijoin_max_keys", INT(semijoin_max_keys, 0, 10000000)},
    {"join_broadcast_min_rows", INT(join_broadcast_min_rows, 0, 2000000000)},
    {"join_repartition_min_rows", INT(join_repartition_min_rows, 0, 2000000000)},
    {"admin_user", STR(admin_user)},
    {"recovery_interval_ms", INT(recovery_interval_ms, 100, 86400000)},
    {"recovery_min_age_sec", INT(recovery_min_age_sec, 0, 86400)},
    {"deadlock_check_ms", INT(deadlock_check_ms, 50, 3600000)},
    {"plan_cache_size", INT(plan_cache_size, 0, 1000000)},
    {"loops", INT(loops, 0, 256)},
    {"pool_mode", STR(pool_mode)},
    {"session_pool_users", STR(session_pool_users)},
    {"query_memory_limit", SIZE(query_memory_limit, 0, 1099511627776L)},
};

void
config_defaults(Config *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->listen_addr, sizeof(c->listen_addr), "127.0.0.1");
	c->port = 6432;
	snprintf(c->metadata_node, sizeof(c->metadata_node), "host=127.0.0.1 port=6433");
	snprintf(c->auth_type, sizeof(c->auth_type), "trust");
	c->log_level = LOG_INFO;
	c->max_message_size = 256u * 1024 * 1024;
	c->max_startup_packet = 10000; /* PostgreSQL's MAX_STARTUP_PACKET_LENGTH */
	c->client_out_limit = 1024 * 1024;
	c->pool_size =
	    20; /* pgbouncer's default_pool_size: more backends than CPUs only add switching */
	c->pool_idle = 20;
	c->pool_wait_timeout_ms = 30000;
	c->max_client_conn = 20000;
	c->catalog_poll_ms = 1000;
	c->stats_interval_ms = 10000;
	c->semijoin_max_keys = 50000;
	c->join_broadcast_min_rows = 100000;
	c->join_repartition_min_rows = 1000000;
	snprintf(c->admin_user, sizeof(c->admin_user), "postgres");
	c->recovery_interval_ms = 10000;
	c->recovery_min_age_sec = 30;
	c->deadlock_check_ms = 500;
	c->plan_cache_size = 1024;
	snprintf(c->pool_mode, sizeof(c->pool_mode), "transaction");
}

bool
config_session_pooling(const Config *c, const char *user, const char *database)
{
	size_t ulen = strlen(user), dlen = strlen(database);
	const char *p = c->session_pool_users;
	while (*p != '\0') {
		while (*p == ',' || *p == ' ')
			p++;
		const char *e = p;
		while (*e != '\0' && *e != ',' && *e != ' ')
			e++;
		size_t n = (size_t)(e - p);
		if ((n == ulen && strncmp(p, user, ulen) == 0) ||
		    (n == ulen + 1 + dlen && strncmp(p, user, ulen) == 0 && p[ulen] == '@' &&
		     strncmp(p + ulen + 1, database, dlen) == 0))
			return true;
		p = e;
	}
	return strcmp(c->pool_mode, "session") == 0;
}

bool
config_set(Config *c, const char *key, const char *value, SgError *err)
{
	for (size_t i = 0; i < SG_ARRAY_LEN(settings); i++) {
		const Setting *s = &settings[i];
		if (strcmp(s->key, key) != 0)
			continue;
		char *field = (char *)c + s->offset;
		switch (s->kind) {
		case SET_STRING:
			if (strlen(value) >= s->size)
				return sg_error_set(err, SQLSTATE_INVALID_PARAMETER_VALUE,
				                    "value for \"%s\" is too long", key);
			if (strcmp(key, "pool_mode") == 0 && strcmp(value, "transaction") != 0 &&
			    strcmp(value, "session") != 0)
				return sg_error_set(err, SQLSTATE_INVALID_PARAMETER_VALUE,
				                    "invalid pool_mode \"%s\" (transaction, session)", value);
			snprintf(field, s->size, "%s", value);
			return true;
		case SET_INT:
		case SET_SIZE: {
			errno = 0;
			char *end;
			long v = strtol(value, &end, 10);
			if (s->kind == SET_SIZE && errno == 0 && end != value && *end != '\0') {
				/* a unit, PostgreSQL's spelling: kB, MB, GB */
				static const struct {
					const char *unit;
					long mult;
				} units[] = {{"kB", 1024L}, {"MB", 1024L * 1024}, {"GB", 1024L * 1024 * 1024}};
				const char *u = end + (*end == ' ');
				for (size_t k = 0; k < SG_ARRAY_LEN(units); k++)
					if (strcmp(u, units[k].unit) == 0 && v >= 0 && v <= s->max / units[k].mult) {
						v *= units[k].mult;
						end = (char *)u + strlen(u);
					}
			}
			if (errno != 0 || end == value || *end != '\0' || v < s->min || v > s->max)
				return sg_error_set(err, SQLSTATE_INVALID_PARAMETER_VALUE,
				                    "invalid value for \"%s\": \"%s\" (allowed %ld..%ld)", key,
				                    value, s->min, s->max);
			if (s->kind == SET_INT)
				*(int *)field = (int)v;
			else
				*(size_t *)field = (size_t)v;
			return true;
		}
		case SET_LOGLEVEL:
			if (!sg_log_level_parse(value, (LogLevel *)field))
				return sg_error_set(err, SQLSTATE_INVALID_PARAMETER_VALUE,
				                    "invalid log_level \"%s\" (error, warning, info, debug)",
				                    value);
			return true;
		}
	}
	return sg_error_set(err, SQLSTATE_INVALID_PARAMETER_VALUE,
	                    "unrecognized configuration parameter \"%s\"", key);
}

static char *
trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	char *e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

bool
config_load_file(Config *c, const char *path, SgError *err)
{
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return sg_error_set(err, "58030", "could not open configuration file \"%s\": %s", path,
		                    strerror(errno));
	char line[4096];
	int lineno = 0;
	bool ok = true;
	while (ok && fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		char *s = trim(line);
		if (*s == '\0' || *s == '#' || *s == ';' || *s == '[')
			continue;
		char *eq = strchr(s, '=');
		if (eq == NULL) {
			ok = sg_error_set(err, "F0000", "syntax error in \"%s\" line %d: expected key = value",
			                  path, lineno);
			break;
		}
		*eq = '\0';
		char *key = trim(s);
		char *val = trim(eq + 1);
		size_t n = strlen(val);
		if (n >= 2 && val[0] == '\'' && val[n - 1] == '\'') {
			val[n - 1] = '\0';
			val++;
		}
		if (!config_set(c, key, val, err)) {
			char msg[sizeof(err->message)];
			snprintf(msg, sizeof(msg), "%s", err->message);
			ok = sg_error_set(err, "F0000", "%s line %d: %s", path, lineno, msg);
		}
	}
	fclose(f);
	return ok;
}
