/* Per-stack hashed timer wheel. Each connection sits in at most one slot,
 * keyed by the earliest of its timers, so arming, moving and cancelling are
 * O(1) and a tick costs O(connections due in that slot). Deadlines further
 * than one revolution stay in their slot and are skipped until due. */
#include "dataplane/dp_tcp_int.h"

static uint64_t conn_earliest(const struct dp_tcp_conn *c)
{
	const uint64_t t[] = { c->t_rexmt, c->t_delack, c->t_persist, c->t_keep, c->t_idle,
			       c->t_2msl };
	uint64_t best = 0;

	for (unsigned i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (t[i] && (!best || t[i] < best))
			best = t[i];
	return best;
}

/* Remove c from the wheel (no-op when not linked). */
void dp_tcp_timer_unlink(struct dp_tcp_conn *c)
{
	if (!c->w_pprev)
		return;
	*c->w_pprev = c->w_next;
	if (c->w_next)
		c->w_next->w_pprev = c->w_pprev;
	c->w_next = NULL;
	c->w_pprev = NULL;
	c->w_deadline = 0;
}

static void wheel_link(struct dp_tcp_stack *st, struct dp_tcp_conn *c, uint64_t deadline)
{
	uint64_t tick = deadline / st->cfg.tick_us;
	struct dp_tcp_conn **head;

	/* A deadline at or before the last processed tick fires on the next. */
	if (tick <= st->wheel_tick)
		tick = st->wheel_tick + 1;
	head = &st->wheel[tick & (DP_TCP_WHEEL_SLOTS - 1)];
	c->w_next = *head;
	if (*head)
		(*head)->w_pprev = &c->w_next;
	*head = c;
	c->w_pprev = head;
	c->w_deadline = deadline;
}

/* Re-file c after any change to its timers. */
void dp_tcp_timer_update(struct dp_tcp_conn *c)
{
	uint64_t d = conn_earliest(c);

	if (d == c->w_deadline && (d == 0 || c->w_pprev))
		return;
	dp_tcp_timer_unlink(c);
	if (d)
		wheel_link(c->st, c, d);
}

static void run_slot(struct dp_tcp_stack *st, uint32_t slot, uint64_t now_us)
{
	struct dp_tcp_conn *list = st->wheel[slot];

	/* Detach the slot first: firing may re-file a conn into this slot, and
	 * an app callback may cancel another conn of the list (its w_pprev then
	 * points at our local head, which unlink handles). */
	st->wheel[slot] = NULL;
	if (list)
		list->w_pprev = &list;
	while (list) {
		struct dp_tcp_conn *c = list;
		uint64_t d = c->w_deadline;

		dp_tcp_timer_unlink(c); /* advances list */
		if (d > now_us) {
			wheel_link(st, c, d); /* a later revolution */
			continue;
		}
		dp_tcp_conn_timers_fire(c, now_us);
	}
}

/* Advance the wheel to now_us, firing every connection whose earliest
 * deadline has passed. A jump longer than one revolution visits each slot
 * once. */
void dp_tcp_timer_run(struct dp_tcp_stack *st, uint64_t now_us)
{
	uint64_t now_tick = now_us / st->cfg.tick_us;
	uint64_t t = st->wheel_tick + 1;

	if (now_tick < t)
		return;
	if (now_tick - t >= DP_TCP_WHEEL_SLOTS)
		t = now_tick - DP_TCP_WHEEL_SLOTS + 1;
	for (; t <= now_tick; t++) {
		st->wheel_tick = t;
		run_slot(st, (uint32_t)(t & (DP_TCP_WHEEL_SLOTS - 1)), now_us);
	}
}
