/*
 * gid.c: the one place 2PC transaction ids are built and checked.
 */
#include "txn/gid.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/macros.h"

void
gid_make(char *out, size_t cap, const char *gateway_id, uint64_t txid, int32_t decider)
{
	int n = snprintf(out, cap, "sg_%s_%" PRIu64 "_%d", gateway_id, txid, decider);
	SG_ASSERT(n > 0 && (size_t)n < cap && gid_is_valid(out));
}

void
gid_participant(char *out, size_t cap, const char *gid, int32_t node_id)
{
	int n = snprintf(out, cap, "%s_%d", gid, node_id);
	SG_ASSERT(n > 0 && (size_t)n < cap && gid_is_valid(out));
}

static const char *
span(const char *s, const char *set)
{
	return s + strspn(s, set);
}

/* gid_fields: count the numeric fields after sg_<gateway>_; -1 if malformed */
static int
gid_fields(const char *gid)
{
	static const char alnum[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	static const char digits[] = "0123456789";
	if (strncmp(gid, "sg_", 3) != 0 || strlen(gid) >= GID_MAX_LEN)
		return -1;
	const char *p = gid + 3;
	const char *q = span(p, alnum);
	if (q == p || *q != '_')
		return -1;
	int fields = 0;
	while (*q == '_') {
		p = q + 1;
		q = span(p, digits);
		if (q == p)
			return -1;
		fields++;
	}
	return *q == '\0' ? fields : -1;
}

bool
gid_is_valid(const char *gid)
{
	int f = gid_fields(gid);
	return f == 2 || f == 3;
}

bool
gid_split(const char *pgid, char *base, size_t cap, int32_t *decider, int32_t *node_id)
{
	if (gid_fields(pgid) != 3)
		return false;
	const char *last = strrchr(pgid, '_');
	if ((size_t)(last - pgid) >= cap)
		return false;
	memcpy(base, pgid, (size_t)(last - pgid));
	base[last - pgid] = '\0';
	*node_id = (int32_t)strtol(last + 1, NULL, 10);
	*decider = (int32_t)strtol(strrchr(base, '_') + 1, NULL, 10);
	return true;
}
