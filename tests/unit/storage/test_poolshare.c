/*
 * test_poolshare.c: storage/poolshare.c, the one connection limit over the
 * pools of all loops. Two members on two loops that are never run: what a
 * member posts to another loop stays in that loop's pipe until loop_drain
 * runs it here, so the tests see exactly which hook each give or take posts.
 */
#include <CUnit/Basic.h>

#include "storage/poolshare.h"

typedef struct Owner {
	int retries;
	int sheds;
	int adopted;
	void *last_item;
} Owner;

static int dropped; /* items dropped: their member had left */

static void
on_retry(void *owner)
{
	((Owner *)owner)->retries++;
}

static void
on_shed(void *owner)
{
	((Owner *)owner)->sheds++;
}

static void
on_adopt(void *owner, void *item)
{
	((Owner *)owner)->adopted++;
	((Owner *)owner)->last_item = item;
}

static void
on_drop(void *item)
{
	(void)item;
	dropped++;
}

static const QuotaHooks hooks = {on_retry, on_shed, on_adopt, on_drop};

typedef struct Fixture {
	PoolShare *share;
	Loop *loop1, *loop2;
	Owner o1, o2;
	QuotaMember *m1, *m2;
} Fixture;

static void
setup(Fixture *f, int limit)
{
	*f = (Fixture){0};
	f->share = poolshare_create();
	f->loop1 = loop_create();
	f->loop2 = loop_create();
	f->m1 = quota_join(f->share, "1\nh\n5432\nu\nd", limit, f->loop1, &f->o1, &hooks);
	f->m2 = quota_join(f->share, "1\nh\n5432\nu\nd", limit, f->loop2, &f->o2, &hooks);
}

static void
teardown(Fixture *f)
{
	quota_leave(f->m1);
	quota_leave(f->m2);
	poolshare_stop(f->share);
	loop_drain(f->loop1);
	loop_drain(f->loop2);
	poolshare_destroy(f->share);
	loop_destroy(f->loop1);
	loop_destroy(f->loop2);
}

static void
test_one_limit_for_both(void)
{
	Fixture f;
	setup(&f, 3);
	CU_ASSERT_TRUE(quota_take(f.m1, 0));
	CU_ASSERT_TRUE(quota_take(f.m1, 1));
	CU_ASSERT_TRUE(quota_take(f.m2, 0));
	CU_ASSERT_EQUAL(quota_count(f.m1), 3);
	/* the limit is reached for either member */
	CU_ASSERT_FALSE(quota_take(f.m2, 1));
	CU_ASSERT_FALSE(quota_take(f.m1, 2));
	/* a different key has a limit of its own */
	Loop *l3 = loop_create();
	Owner o3 = {0};
	QuotaMember *other = quota_join(f.share, "2\nh\n5433\nu\nd", 3, l3, &o3, &hooks);
	CU_ASSERT_TRUE(quota_take(other, 0));
	CU_ASSERT_EQUAL(quota_count(other), 1);
	quota_leave(other);
	teardown(&f);
	loop_destroy(l3);
}

static void
test_share_while_others_wait(void)
{
	Fixture f;
	setup(&f, 5);
	/* nobody waits: no share */
	CU_ASSERT_EQUAL(quota_share(f.m1), -1);
	for (int i = 0; i < 5; i++)
		CU_ASSERT_TRUE(quota_take(f.m1, i));
	CU_ASSERT_FALSE(quota_take(f.m2, 0)); /* m2 waits now */
	/* m1 may keep 5 / 2, rounded up; m2 sees nobody else waiting */
	CU_ASSERT_EQUAL(quota_share(f.m1), 3);
	CU_ASSERT_EQUAL(quota_share(f.m2), -1);
	/* m1 gives two back: m2 may take them, m1 may not take one back beyond its share */
	quota_give(f.m1);
	quota_give(f.m1);
	CU_ASSERT_FALSE(quota_take(f.m1, 3)); /* held 3 = its share, though a slot is free */
	CU_ASSERT_TRUE(quota_take(f.m2, 0));
	CU_ASSERT_TRUE(quota_take(f.m2, 1));
	CU_ASSERT_EQUAL(quota_count(f.m2), 5);
	/* both wait: each may keep half */
	CU_ASSERT_FALSE(quota_take(f.m2, 2));
	CU_ASSERT_EQUAL(quota_share(f.m1), 3);
	CU_ASSERT_EQUAL(quota_share(f.m2), 3);
	/* m2's queue empties: m1 is alone again */
	quota_done_waiting(f.m2);
	CU_ASSERT_EQUAL(quota_share(f.m1), -1);
	teardown(&f);
}

static void
test_give_wakes_the_waiting_loop(void)
{
	Fixture f;
	setup(&f, 2);
	CU_ASSERT_TRUE(quota_take(f.m1, 0));
	CU_ASSERT_TRUE(quota_take(f.m1, 1));
	/* m1 holds no idle connection: m2's wait asks nobody to shed */
	CU_ASSERT_FALSE(quota_take(f.m2, 0));
	CU_ASSERT_FALSE(loop_drain(f.loop1));
	/* a slot given back runs m2's retry, on m2's loop, once however many are given */
	quota_give(f.m1);
	quota_give(f.m1);
	CU_ASSERT_FALSE(loop_drain(f.loop1));
	CU_ASSERT_TRUE(loop_drain(f.loop2));
	CU_ASSERT_EQUAL(f.o2.retries, 1);
	CU_ASSERT_EQUAL(f.o1.retries, 0);
	/* nobody waits any more: a give posts nothing */
	CU_ASSERT_TRUE(quota_take(f.m2, 0));
	quota_done_waiting(f.m2);
	quota_give(f.m2);
	CU_ASSERT_FALSE(loop_drain(f.loop1));
	CU_ASSERT_FALSE(loop_drain(f.loop2));
	teardown(&f);
}

static void
test_wait_asks_idle_holders_to_shed(void)
{
	Fixture f;
	setup(&f, 2);
	CU_ASSERT_TRUE(quota_take(f.m1, 0));
	CU_ASSERT_TRUE(quota_take(f.m1, 1));
	CU_ASSERT_TRUE(quota_park(f.m1, 5));
	CU_ASSERT_TRUE(quota_park(f.m1, 5));
	CU_ASSERT_FALSE(quota_take(f.m2, 0));
	CU_ASSERT_TRUE(loop_drain(f.loop1));
	CU_ASSERT_EQUAL(f.o1.sheds, 1);
	/* still waiting: no second request (the holder's timer takes it from here) */
	CU_ASSERT_FALSE(quota_take(f.m2, 0));
	CU_ASSERT_FALSE(loop_drain(f.loop1));
	teardown(&f);
}

static void
test_nothing_posted_after_stop_or_leave(void)
{
	Fixture f;
	setup(&f, 1);
	CU_ASSERT_TRUE(quota_take(f.m1, 0));
	CU_ASSERT_FALSE(quota_take(f.m2, 0));
	quota_leave(f.m2); /* its pool went away: no longer waiting, nothing posted to it */
	CU_ASSERT_EQUAL(quota_share(f.m1), -1);
	quota_give(f.m1);
	CU_ASSERT_FALSE(loop_drain(f.loop2));
	/* a hook posted before the member left finds no owner and does nothing */
	CU_ASSERT_TRUE(quota_take(f.m1, 0));
	Owner o3 = {0};
	QuotaMember *m3 = quota_join(f.share, "1\nh\n5432\nu\nd", 1, f.loop2, &o3, &hooks);
	CU_ASSERT_FALSE(quota_take(m3, 0));
	quota_give(f.m1); /* posts m3's retry */
	quota_leave(m3);
	CU_ASSERT_TRUE(loop_drain(f.loop2));
	CU_ASSERT_EQUAL(o3.retries, 0);
	/* after stop, a give posts nothing */
	CU_ASSERT_TRUE(quota_take(f.m1, 0));
	QuotaMember *m4 = quota_join(f.share, "1\nh\n5432\nu\nd", 1, f.loop2, &o3, &hooks);
	CU_ASSERT_FALSE(quota_take(m4, 0));
	poolshare_stop(f.share);
	quota_give(f.m1);
	CU_ASSERT_FALSE(loop_drain(f.loop2));
	quota_leave(m4);
	teardown(&f);
}

static void
test_idle_limit_over_members(void)
{
	Fixture f;
	setup(&f, 4);
	/* pool_idle 2 for both members together */
	CU_ASSERT_TRUE(quota_park(f.m1, 2));
	CU_ASSERT_TRUE(quota_park(f.m2, 2));
	CU_ASSERT_EQUAL(quota_idle(f.m1), 2);
	CU_ASSERT_FALSE(quota_park(f.m1, 2));
	CU_ASSERT_FALSE(quota_park(f.m2, 2));
	/* one of m1's is taken: the room is anyone's */
	quota_unpark(f.m1, 1);
	CU_ASSERT_TRUE(quota_park(f.m2, 2));
	CU_ASSERT_EQUAL(quota_idle(f.m2), 2);
	quota_unpark(f.m2, 2);
	CU_ASSERT_EQUAL(quota_idle(f.m1), 0);
	teardown(&f);
}

static void
test_hand_off_to_the_waiting_member(void)
{
	Fixture f;
	setup(&f, 2);
	int conn_a, conn_b;
	CU_ASSERT_TRUE(quota_take(f.m1, 0));
	CU_ASSERT_TRUE(quota_take(f.m1, 1));
	/* nobody waits: m1 keeps its connection */
	CU_ASSERT_FALSE(quota_hand_off(f.m1, &conn_a));
	CU_ASSERT_FALSE(quota_take(f.m2, 0)); /* m2 waits */
	/* a member never hands to itself */
	CU_ASSERT_FALSE(quota_hand_off(f.m2, &conn_a));
	CU_ASSERT_TRUE(quota_hand_off(f.m1, &conn_a));
	/* the slot went along: the count is unchanged, and nothing ran on m1's loop */
	CU_ASSERT_EQUAL(quota_count(f.m1), 2);
	CU_ASSERT_FALSE(loop_drain(f.loop1));
	CU_ASSERT_TRUE(loop_drain(f.loop2));
	CU_ASSERT_EQUAL(f.o2.adopted, 1);
	CU_ASSERT_PTR_EQUAL(f.o2.last_item, &conn_a);
	/* handed to a member that left before it arrived: dropped, and the slot given back */
	CU_ASSERT_TRUE(quota_hand_off(f.m1, &conn_b));
	dropped = 0;
	quota_leave(f.m2);
	CU_ASSERT_TRUE(loop_drain(f.loop2));
	CU_ASSERT_EQUAL(f.o2.adopted, 1);
	CU_ASSERT_EQUAL(dropped, 1);
	CU_ASSERT_EQUAL(quota_count(f.m1), 1);
	teardown(&f);
}

void sg_register_tests(void);

void
sg_register_tests(void)
{
	CU_pSuite s = CU_add_suite("poolshare", NULL, NULL);
	CU_add_test(s, "one limit for the pools of both loops", test_one_limit_for_both);
	CU_add_test(s, "an even share while others wait", test_share_while_others_wait);
	CU_add_test(s, "a slot given back wakes the waiting loop", test_give_wakes_the_waiting_loop);
	CU_add_test(s, "a waiting pool asks idle holders to shed", test_wait_asks_idle_holders_to_shed);
	CU_add_test(s, "nothing posted after stop or leave", test_nothing_posted_after_stop_or_leave);
	CU_add_test(s, "pool_idle over all members", test_idle_limit_over_members);
	CU_add_test(s, "an idle connection handed to the waiting member",
	            test_hand_off_to_the_waiting_member);
}
