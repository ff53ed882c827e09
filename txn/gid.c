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
gid_make(char *out, size_t cap, const char *gateway_id, uint64_t txid)
{
	int n = snprintf(out, cap, "sg_%s_%" PRIu64, gateway_id, txid);
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

bool
gid_is_valid(const char *gid)
{
	static const char alnum[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	static const char digits[] = "0123456789";
	if (strncmp(gid, "sg_", 3) != 0 || strlen(gid) >= GID_MAX_LEN)
		return false;
	const char *p = gid + 3;
	const char *q = span(p, alnum);
	if (q == p || *q != '_')
		return false;
	p = q + 1;
	q = span(p, digits);
	if (q == p)
		return false;
	if (*q == '\0')
		return true;
	if (*q != '_')
		return false;
	p = q + 1;
	q = span(p, digits);
	return q != p && *q == '\0';
}

bool
gid_split(const char *pgid, char *base, size_t cap, int32_t *node_id)
{
	if (!gid_is_valid(pgid))
		return false;
	const char *last = strrchr(pgid, '_');
	/* a participant gid has three underscores: sg_ gw_ txid_ node */
	int underscores = 0;
	for (const char *p = pgid; *p; p++)
		underscores += *p == '_';
	if (underscores != 3 || (size_t)(last - pgid) >= cap)
		return false;
	memcpy(base, pgid, (size_t)(last - pgid));
	base[last - pgid] = '\0';
	*node_id = (int32_t)strtol(last + 1, NULL, 10);
	return true;
}
