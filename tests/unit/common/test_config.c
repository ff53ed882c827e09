/*
 * test_config.c: settings from a file and by name, with their validation.
 */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/config.h"

void sg_register_tests(void);

static void
test_set_values(void)
{
	Config c;
	SgError err;
	config_defaults(&c);
	CU_ASSERT_EQUAL(c.port, 6432);
	CU_ASSERT_TRUE(config_set(&c, "port", "7000", &err));
	CU_ASSERT_EQUAL(c.port, 7000);
	CU_ASSERT_FALSE(config_set(&c, "port", "70000", &err));
	CU_ASSERT_STRING_EQUAL(err.sqlstate, "22023");
	CU_ASSERT_FALSE(config_set(&c, "port", "12x", &err));
	CU_ASSERT_FALSE(config_set(&c, "no_such_key", "1", &err));
	CU_ASSERT_TRUE(strstr(err.message, "no_such_key") != NULL);
	CU_ASSERT_TRUE(config_set(&c, "log_level", "debug", &err));
	CU_ASSERT_EQUAL(c.log_level, LOG_DEBUG);
	CU_ASSERT_FALSE(config_set(&c, "log_level", "loud", &err));
	CU_ASSERT_TRUE(config_set(&c, "max_message_size", "1048576", &err));
	CU_ASSERT_EQUAL(c.max_message_size, 1048576u);
	/* sizes with PostgreSQL's units */
	CU_ASSERT_EQUAL(c.query_memory_limit, 0u);
	CU_ASSERT_TRUE(config_set(&c, "query_memory_limit", "64kB", &err));
	CU_ASSERT_EQUAL(c.query_memory_limit, 65536u);
	CU_ASSERT_TRUE(config_set(&c, "query_memory_limit", "2 MB", &err));
	CU_ASSERT_EQUAL(c.query_memory_limit, 2u * 1024 * 1024);
	CU_ASSERT_TRUE(config_set(&c, "query_memory_limit", "1GB", &err));
	CU_ASSERT_EQUAL(c.query_memory_limit, 1024u * 1024 * 1024);
	CU_ASSERT_TRUE(config_set(&c, "query_memory_limit", "0", &err));
	CU_ASSERT_EQUAL(c.query_memory_limit, 0u);
	CU_ASSERT_FALSE(config_set(&c, "query_memory_limit", "64kb", &err));
	CU_ASSERT_FALSE(config_set(&c, "query_memory_limit", "-1", &err));
	CU_ASSERT_FALSE(config_set(&c, "query_memory_limit", "2000GB", &err));
	CU_ASSERT_FALSE(config_set(&c, "max_message_size", "2GB", &err));
	CU_ASSERT_TRUE(config_set(&c, "max_message_size", "1MB", &err));
	CU_ASSERT_EQUAL(c.max_message_size, 1048576u);
}

static void
test_pool_mode(void)
{
	Config c;
	SgError err;
	config_defaults(&c);
	CU_ASSERT_FALSE(config_session_pooling(&c, "alice", "app"));
	CU_ASSERT_FALSE(config_set(&c, "pool_mode", "statement", &err));
	CU_ASSERT_TRUE(config_set(&c, "session_pool_users", "bob, alice@app,carol@x", &err));
	CU_ASSERT_TRUE(config_session_pooling(&c, "alice", "app"));
	CU_ASSERT_FALSE(config_session_pooling(&c, "alice", "other"));
	CU_ASSERT_TRUE(config_session_pooling(&c, "bob", "any"));
	CU_ASSERT_FALSE(config_session_pooling(&c, "bo", "any"));
	CU_ASSERT_FALSE(config_session_pooling(&c, "carol", "xy"));
	CU_ASSERT_TRUE(config_set(&c, "pool_mode", "session", &err));
	CU_ASSERT_TRUE(config_session_pooling(&c, "dave", "app"));
}

static void
test_file(void)
{
	char path[] = "/tmp/sg_test_config_XXXXXX";
	int fd = mkstemp(path);
	CU_ASSERT_FATAL(fd >= 0);
	FILE *f = fdopen(fd, "w");
	fprintf(f, "# comment\n\nlisten_addr = 0.0.0.0\nport=6500\n"
	           "metadata_node = 'host=127.0.0.1 port=6501'\n");
	fclose(f);
	Config c;
	SgError err;
	config_defaults(&c);
	CU_ASSERT_TRUE(config_load_file(&c, path, &err));
	CU_ASSERT_STRING_EQUAL(c.listen_addr, "0.0.0.0");
	CU_ASSERT_EQUAL(c.port, 6500);
	CU_ASSERT_STRING_EQUAL(c.metadata_node, "host=127.0.0.1 port=6501");

	f = fopen(path, "w");
	fprintf(f, "port = 1\nthis line is wrong\n");
	fclose(f);
	CU_ASSERT_FALSE(config_load_file(&c, path, &err));
	CU_ASSERT_TRUE(strstr(err.message, "line 2") != NULL);
	unlink(path);
	CU_ASSERT_FALSE(config_load_file(&c, path, &err));
}

void
sg_register_tests(void)
{
	CU_pSuite s = CU_add_suite("config", NULL, NULL);
	CU_add_test(s, "set values", test_set_values);
	CU_add_test(s, "file", test_file);
	CU_add_test(s, "pool_mode", test_pool_mode);
}
