#ifndef SG_STORAGE_POOLSHARE_H
#define SG_STORAGE_POOLSHARE_H

#include <stdbool.h>

#include "common/loop.h"

/*
 * PoolShare: one connection limit (pool_size) and one idle limit (pool_idle)
 * for the pools that all loops keep to the same (node, user, database), so a
 * node sees at most pool_size backends of a gateway however many loops it
 * runs.
 *
 * Each loop's pool joins the quota of its key as a QuotaMember. It takes a
 * slot before it opens a connection (quota_take: an atomic compare-and-swap,
 * no lock) and gives it back when the connection closes (quota_give). A
 * member whose take fails is marked waiting; a slot given back while members
 * wait runs their retry hook on their own loop (loop_post), and members that
 * hold idle connections are asked to give them up (the shed hook; pool.c
 * does so at once beyond its share and after a short idle time within it).
 * A connection given up is handed over (quota_hand_off): it moves, with its
 * slot, to a waiting member's loop (the adopt hook), so no backend starts on
 * the node. While others wait, a pool keeps no more than its share
 * (quota_share): so two loops that both have more clients than slots split
 * the slots instead of one starving until its queue times out.
 *
 * On the query path a pool reads one atomic (the count of waiting members)
 * when a connection comes back, and counts a connection it parks idle with a
 * compare-and-swap; the mutex is taken only when a member starts or stops
 * waiting, when a slot is given back while members wait, and for a hand-off.
 */

typedef struct PoolShare PoolShare;
typedef struct QuotaMember QuotaMember;

/* hooks run on the member's loop with the member's owner (its pool) */
typedef struct QuotaHooks {
	void (*retry)(void *owner); /* a slot came free: open a connection if still waiting */
	void (*shed)(void *owner);  /* another loop waits: give up an idle connection if over share */
	/* a connection another member handed over (quota_hand_off), with its slot */
	void (*adopt)(void *owner, void *item);
	/* close a handed-over connection whose member left (its slot is given back after) */
	void (*drop)(void *item);
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
/*
 * quota_park: m wants to keep one more connection idle: true if the idle
 * connections of every member stay within max (pool_idle), counted now;
 * quota_unpark: n of m's idle connections were taken or closed
 */
bool quota_park(QuotaMember *m, int max);
void quota_unpark(QuotaMember *m, int n);
/* quota_idle: idle connections over all members */
int quota_idle(const QuotaMember *m);
/*
 * quota_hand_off: m gives item (an idle connection, taken off m's loop) to a
 * member that waits for a slot: the slot goes along (the count does not
 * change) and the adopt hook runs on that member's loop. false if no other
 * member waits (then m still owns item and its slot).
 */
bool quota_hand_off(QuotaMember *m, void *item);
/*
 * quota_share: how many connections m may keep while other members wait
 * (limit split evenly among them and m); -1 while nobody else waits
 */
int quota_share(const QuotaMember *m);
/* quota_count: connections open or opening under this quota, over all members */
int quota_count(const QuotaMember *m);

#endif /* SG_STORAGE_POOLSHARE_H */
