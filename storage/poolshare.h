#ifndef SG_STORAGE_POOLSHARE_H
#define SG_STORAGE_POOLSHARE_H

#include <stdbool.h>

#include "common/loop.h"

/*
 * PoolShare: one connection limit (pool_size) for the pools that all loops
 * keep to the same (node, user, database), so a node sees at most pool_size
 * backends of a gateway however many loops it runs.
 *
 * Each loop's pool joins the quota of its key as a QuotaMember. It takes a
 * slot before it opens a connection (quota_take: an atomic compare-and-swap,
 * no lock) and gives it back when the connection closes (quota_give). A
 * member whose take fails is marked waiting; a slot given back while members
 * wait runs their retry hook on their own loop (loop_post), and members that
 * hold idle connections are asked to shed them (the shed hook; pool.c
 * closes those beyond its share at once and the others after a short idle
 * time). While others
 * wait, a pool keeps no more than its share (quota_share): so two loops that
 * both have more clients than slots split the slots instead of one starving
 * until its queue times out.
 *
 * On the query path a pool reads one atomic (the count of waiting members)
 * when a connection comes back and stores its idle count (relaxed); the
 * mutex is taken only when a member starts or stops waiting and when a slot
 * is given back while members wait.
 */

typedef struct PoolShare PoolShare;
typedef struct QuotaMember QuotaMember;

/* hooks run on the member's loop with the member's owner (its pool) */
typedef struct QuotaHooks {
	void (*retry)(void *owner); /* a slot came free: open a connection if still waiting */
	void (*shed)(void *owner);  /* another loop waits: close an idle connection if over share */
} QuotaHooks;

PoolShare *poolshare_create(void);
/* poolshare_stop: the loops have stopped; from now on no hook is posted */
void poolshare_stop(PoolShare *s);
/* poolshare_destroy: after every member left */
void poolshare_destroy(PoolShare *s);

/* quota_join: owner (on loop) joins the quota of key (created with limit on first use) */
QuotaMember *quota_join(PoolShare *s, const char *key, int limit, Loop *loop, void *owner,
                        const QuotaHooks *hooks);
/* quota_leave: the owner is going away (on its loop, or after the loops stopped) */
void quota_leave(QuotaMember *m);

/*
 * quota_take: m, holding `held` connections and with clients queued, wants
 * one more: true if a slot was reserved; false at the limit or at m's share
 * while others wait, and m now waits (its retry hook runs when a slot comes
 * free)
 */
bool quota_take(QuotaMember *m, int held);
/* quota_give: a connection of m closed */
void quota_give(QuotaMember *m);
/* quota_done_waiting: m's queue is empty */
void quota_done_waiting(QuotaMember *m);
/* quota_set_idle: m holds n idle connections (read by waiting members) */
void quota_set_idle(QuotaMember *m, int n);
/*
 * quota_share: how many connections m may keep while other members wait
 * (limit split evenly among them and m); -1 while nobody else waits
 */
int quota_share(const QuotaMember *m);
/* quota_count: connections open or opening under this quota, over all members */
int quota_count(const QuotaMember *m);

#endif /* SG_STORAGE_POOLSHARE_H */
