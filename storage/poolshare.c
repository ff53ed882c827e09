/*
 * poolshare.c: one connection limit for the pools of all loops (see poolshare.h).
 *
 * A Quota per key counts the connections open or opening (`count`, atomic)
 * and the members waiting for a slot (`nwaiting`, atomic). Members are kept
 * until the share is destroyed, so a hook posted to a loop never outlives
 * the member it names; a member whose owner left has owner NULL.
 *
 * The race between a member starting to wait and another giving a slot back
 * is closed in the usual way: the waiter publishes `nwaiting` and then tries
 * the count again; the giver lowers the count and then reads `nwaiting`. With
 * sequentially consistent atomics one of them sees the other.
 */
#include "storage/poolshare.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

typedef struct Quota Quota;

struct QuotaMember {
	QuotaMember *next; /* in Quota.members */
	Quota *quota;
	Loop *loop;
	QuotaHooks hooks;
	void *owner;       /* under mu; NULL once left */
	bool waiting;      /* written by the member's loop under mu */
	bool retry_posted; /* under mu */
	bool shed_posted;  /* under mu */
	atomic_int nidle;  /* idle connections the member holds */
};

struct Quota {
	Quota *next;
	PoolShare *share;
	char *key;
	int limit;
	atomic_int count;    /* connections open or opening */
	atomic_int nwaiting; /* members waiting for a slot */
	atomic_int nidle;    /* idle connections over all members */
	QuotaMember *members;
};

struct PoolShare {
	pthread_mutex_t mu;
	Quota *quotas;
	atomic_bool stopped;
};

PoolShare *
poolshare_create(void)
{
	PoolShare *s = calloc(1, sizeof(PoolShare));
	if (s == NULL)
		abort();
	pthread_mutex_init(&s->mu, NULL);
	atomic_init(&s->stopped, false);
	return s;
}

void
poolshare_stop(PoolShare *s)
{
	if (s != NULL)
		atomic_store(&s->stopped, true);
}

void
poolshare_destroy(PoolShare *s)
{
	if (s == NULL)
		return;
	while (s->quotas != NULL) {
		Quota *q = s->quotas;
		s->quotas = q->next;
		while (q->members != NULL) {
			QuotaMember *m = q->members;
			q->members = m->next;
			free(m);
		}
		free(q->key);
		free(q);
	}
	pthread_mutex_destroy(&s->mu);
	free(s);
}

QuotaMember *
quota_join(PoolShare *s, const char *key, int limit, Loop *loop, void *owner,
           const QuotaHooks *hooks)
{
	QuotaMember *m = calloc(1, sizeof(QuotaMember));
	if (m == NULL)
		abort();
	m->loop = loop;
	m->owner = owner;
	m->hooks = *hooks;
	atomic_init(&m->nidle, 0);
	pthread_mutex_lock(&s->mu);
	Quota *q = s->quotas;
	while (q != NULL && strcmp(q->key, key) != 0)
		q = q->next;
	if (q == NULL) {
		q = calloc(1, sizeof(Quota));
		if (q == NULL || (q->key = strdup(key)) == NULL)
			abort();
		q->share = s;
		q->limit = limit;
		atomic_init(&q->count, 0);
		atomic_init(&q->nwaiting, 0);
		atomic_init(&q->nidle, 0);
		q->next = s->quotas;
		s->quotas = q;
	}
	m->quota = q;
	m->next = q->members;
	q->members = m;
	pthread_mutex_unlock(&s->mu);
	return m;
}

/* set_waiting: under mu */
static void
set_waiting(QuotaMember *m, bool waiting)
{
	if (m->waiting == waiting)
		return;
	m->waiting = waiting;
	atomic_fetch_add(&m->quota->nwaiting, waiting ? 1 : -1);
}

void
quota_leave(QuotaMember *m)
{
	if (m == NULL)
		return;
	PoolShare *s = m->quota->share;
	pthread_mutex_lock(&s->mu);
	set_waiting(m, false);
	m->owner = NULL;
	pthread_mutex_unlock(&s->mu);
}

/* run_hook: a posted retry or shed, on the member's own loop */
static void
run_hook(QuotaMember *m, bool retry)
{
	PoolShare *s = m->quota->share;
	pthread_mutex_lock(&s->mu);
	if (retry)
		m->retry_posted = false;
	else
		m->shed_posted = false;
	void *owner = m->owner;
	pthread_mutex_unlock(&s->mu);
	/* the owner leaves on this thread, so it cannot go away under the hook */
	if (owner != NULL && !atomic_load(&s->stopped))
		(retry ? m->hooks.retry : m->hooks.shed)(owner);
}

static void
run_retry(void *arg)
{
	run_hook(arg, true);
}

static void
run_shed(void *arg)
{
	run_hook(arg, false);
}

/* post_locked: post fn for member o unless one is pending (under mu) */
static void
post_locked(QuotaMember *o, bool *posted, WorkFn fn)
{
	if (*posted || o->owner == NULL || atomic_load(&o->quota->share->stopped))
		return;
	*posted = true;
	loop_post(o->loop, fn, o);
}

static bool
try_take(Quota *q)
{
	int n = atomic_load(&q->count);
	while (n < q->limit)
		if (atomic_compare_exchange_weak(&q->count, &n, n + 1))
			return true;
	return false;
}

int
quota_share(const QuotaMember *m)
{
	const Quota *q = m->quota;
	int others = atomic_load(&((Quota *)q)->nwaiting) - (m->waiting ? 1 : 0);
	if (others <= 0)
		return -1;
	return (q->limit + others) / (others + 1); /* limit / (others + 1), rounded up */
}

/* may_take: held connections leave room for one more within m's share */
static bool
may_take(QuotaMember *m, int held)
{
	int share = quota_share(m);
	return (share < 0 || held < share) && try_take(m->quota);
}

bool
quota_take(QuotaMember *m, int held)
{
	if (may_take(m, held))
		return true;
	if (!m->waiting) {
		Quota *q = m->quota;
		pthread_mutex_lock(&q->share->mu);
		set_waiting(m, true);
		/* members holding idle connections: give them up to us */
		for (QuotaMember *o = q->members; o != NULL; o = o->next)
			if (o != m && atomic_load_explicit(&o->nidle, memory_order_relaxed) > 0)
				post_locked(o, &o->shed_posted, run_shed);
		pthread_mutex_unlock(&q->share->mu);
	}
	return may_take(m, held); /* a slot given back before we were seen waiting */
}

void
quota_give(QuotaMember *m)
{
	Quota *q = m->quota;
	atomic_fetch_sub(&q->count, 1);
	if (atomic_load(&q->nwaiting) - (m->waiting ? 1 : 0) <= 0)
		return;
	pthread_mutex_lock(&q->share->mu);
	for (QuotaMember *o = q->members; o != NULL; o = o->next)
		if (o != m && o->waiting)
			post_locked(o, &o->retry_posted, run_retry);
	pthread_mutex_unlock(&q->share->mu);
}

void
quota_done_waiting(QuotaMember *m)
{
	if (!m->waiting)
		return;
	PoolShare *s = m->quota->share;
	pthread_mutex_lock(&s->mu);
	set_waiting(m, false);
	pthread_mutex_unlock(&s->mu);
}

bool
quota_park(QuotaMember *m, int max)
{
	Quota *q = m->quota;
	int n = atomic_load(&q->nidle);
	while (n < max)
		if (atomic_compare_exchange_weak(&q->nidle, &n, n + 1)) {
			atomic_fetch_add_explicit(&m->nidle, 1, memory_order_relaxed);
			return true;
		}
	return false;
}

void
quota_unpark(QuotaMember *m, int n)
{
	atomic_fetch_sub(&m->quota->nidle, n);
	atomic_fetch_sub_explicit(&m->nidle, n, memory_order_relaxed);
}

int
quota_idle(const QuotaMember *m)
{
	return atomic_load(&((Quota *)m->quota)->nidle);
}

typedef struct HandOff {
	QuotaMember *to;
	void *item;
} HandOff;

/* run_adopt: a handed-over connection arrives on the receiving member's loop */
static void
run_adopt(void *arg)
{
	HandOff *h = arg;
	QuotaMember *o = h->to;
	PoolShare *s = o->quota->share;
	pthread_mutex_lock(&s->mu);
	void *owner = o->owner;
	pthread_mutex_unlock(&s->mu);
	if (owner != NULL && !atomic_load(&s->stopped)) {
		o->hooks.adopt(owner, h->item);
	} else {
		o->hooks.drop(h->item);
		quota_give(o);
	}
	free(h);
}

bool
quota_hand_off(QuotaMember *m, void *item)
{
	Quota *q = m->quota;
	if (atomic_load(&q->nwaiting) - (m->waiting ? 1 : 0) <= 0)
		return false;
	PoolShare *s = q->share;
	QuotaMember *to = NULL;
	pthread_mutex_lock(&s->mu);
	if (!atomic_load(&s->stopped))
		for (QuotaMember *o = q->members; o != NULL && to == NULL; o = o->next)
			if (o != m && o->waiting && o->owner != NULL)
				to = o;
	if (to != NULL) {
		HandOff *h = malloc(sizeof(HandOff));
		if (h == NULL)
			abort();
		*h = (HandOff){to, item};
		loop_post(to->loop, run_adopt, h);
	}
	pthread_mutex_unlock(&s->mu);
	return to != NULL;
}

int
quota_count(const QuotaMember *m)
{
	return atomic_load(&m->quota->count);
}
