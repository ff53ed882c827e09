/*
 * portal.c: prepared statements and portals of a session. Each object owns
 * an arena; statements are reference-counted so a portal keeps its
 * statement alive after the statement is closed, as in PostgreSQL.
 */
#include "gateway/portal.h"

#include <stdlib.h>
#include <string.h>

void
describe_cache_clear(DescribeCache *dc)
{
	free(dc->search_path);
	free(dc->result_formats);
	free(dc->msgs);
	memset(dc, 0, sizeof(*dc));
}

static void
stmt_unref(PreparedStmt *ps)
{
	if (--ps->refs == 0) {
		prepared_route_destroy(ps->route);
		describe_cache_clear(&ps->desc_stmt);
		describe_cache_clear(&ps->desc_portal);
		arena_destroy(ps->arena);
	}
}

PreparedStmt *
portal_find_stmt(PortalSet *set, const char *name)
{
	for (PreparedStmt *ps = set->stmts; ps != NULL; ps = ps->next)
		if (strcmp(ps->name, name) == 0)
			return ps;
	return NULL;
}

void
portal_close_stmt(PortalSet *set, const char *name)
{
	for (PreparedStmt **pp = &set->stmts; *pp != NULL; pp = &(*pp)->next) {
		if (strcmp((*pp)->name, name) == 0) {
			PreparedStmt *ps = *pp;
			*pp = ps->next;
			stmt_unref(ps);
			return;
		}
	}
}

bool
portal_parse(PortalSet *set, const ParseMsg *msg, SgError *err)
{
	if (msg->name[0] != '\0' && portal_find_stmt(set, msg->name) != NULL)
		return sg_error_set(err, "42P05", "prepared statement \"%s\" already exists", msg->name);
	Arena *a = arena_create(4096);
	PreparedStmt *ps = ARENA_NEW(a, PreparedStmt);
	ps->arena = a;
	ps->refs = 1;
	ps->name = arena_strdup(a, msg->name);
	ps->sql = arena_strdup(a, msg->query);
	ps->ntypes = msg->ntypes;
	ps->types = arena_memdup(a, msg->types, sizeof(uint32_t) * ((size_t)msg->ntypes + 1));
	if (!planner_split(a, ps->sql, &ps->stmts, err)) {
		arena_destroy(a);
		return false;
	}
	if (ps->stmts.nstmts > 1) {
		arena_destroy(a);
		return sg_error_set(err, SQLSTATE_SYNTAX_ERROR,
		                    "cannot insert multiple commands into a prepared statement");
	}
	if (msg->name[0] == '\0')
		portal_close_stmt(set, "");
	ps->route = prepared_route_create();
	ps->next = set->stmts;
	set->stmts = ps;
	return true;
}

Portal *
portal_find(PortalSet *set, const char *name)
{
	for (Portal *p = set->portals; p != NULL; p = p->next)
		if (strcmp(p->name, name) == 0)
			return p;
	return NULL;
}

/* portal_arena: the arena for a new portal: the set's spare one, or a new one sized for a
 * Bind body of len bytes (its copy, the Portal and the parameter arrays fit) */
static Arena *
portal_arena(PortalSet *set, size_t len)
{
	Arena *a = set->spare;
	if (a == NULL)
		return arena_create(384 + 2 * len);
	set->spare = NULL;
	return a;
}

/* portal_arena_done: a portal's arena is free again; a small one is kept as the spare (a
 * Bind comes with every prepared execution: no malloc and free for each) */
static void
portal_arena_done(PortalSet *set, Arena *a)
{
	if (set->spare == NULL && arena_footprint(a) <= PORTAL_SPARE_MAX) {
		arena_reset(a);
		set->spare = a;
	} else {
		arena_destroy(a);
	}
}

static void
portal_free(PortalSet *set, Portal *p)
{
	buf_free(&p->rows);
	stmt_unref(p->ps);
	portal_arena_done(set, p->arena);
}

void
portal_close(PortalSet *set, const char *name)
{
	for (Portal **pp = &set->portals; *pp != NULL; pp = &(*pp)->next) {
		if (strcmp((*pp)->name, name) == 0) {
			Portal *p = *pp;
			*pp = p->next;
			portal_free(set, p);
			return;
		}
	}
}

bool
portal_bind(PortalSet *set, const char *body, size_t len, SgError *err)
{
	Arena *a = portal_arena(set, len);
	Portal *p = ARENA_NEW(a, Portal);
	p->arena = a;
	const char *copy = arena_memdup(a, body, len);
	if (!proto_read_bind(copy, len, a, &p->bind, err)) {
		portal_arena_done(set, a);
		return false;
	}
	PreparedStmt *ps = portal_find_stmt(set, p->bind.stmt);
	if (ps == NULL) {
		sg_error_set(err, "26000", "prepared statement \"%s\" does not exist", p->bind.stmt);
		portal_arena_done(set, a);
		return false;
	}
	if (p->bind.portal[0] != '\0' && portal_find(set, p->bind.portal) != NULL) {
		sg_error_set(err, "42P03", "cursor \"%s\" already exists", p->bind.portal);
		portal_arena_done(set, a);
		return false;
	}
	if (p->bind.portal[0] == '\0')
		portal_close(set, "");
	p->name = arena_strdup(a, p->bind.portal);
	p->ps = ps;
	ps->refs++;
	p->next = set->portals;
	set->portals = p;
	return true;
}

void
portal_close_all_portals(PortalSet *set)
{
	while (set->portals != NULL) {
		Portal *p = set->portals;
		set->portals = p->next;
		portal_free(set, p);
	}
}

void
portal_set_destroy(PortalSet *set)
{
	portal_close_all_portals(set);
	arena_destroy(set->spare);
	set->spare = NULL;
	while (set->stmts != NULL) {
		PreparedStmt *ps = set->stmts;
		set->stmts = ps->next;
		stmt_unref(ps);
	}
}
