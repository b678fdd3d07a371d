/* `lifecastctl reload`: re-read lifecast.conf, apply what may change live
 * ([rtmp] limits and apps, [keys], [archive] policy and limits, [control]
 * bitrate window) and list what needs a restart: keys whose table entry is
 * not reloadable and whose value in the file changed.
 *
 * Changes are found by comparing the file with the file as it was at start
 * (or last reload), not with the running values, so a command-line override
 * (--kernel-listen, --open-publish) is not mistaken for an edit. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "controlplane/cp_archive.h"
#include "controlplane/cp_log.h"
#include "controlplane/cp_mgmt_int.h"

static size_t value_size(enum cp_conf_type t)
{
	switch (t) {
	case CP_CONF_STR: return CP_CONF_STR_MAX;
	case CP_CONF_BOOL: return sizeof(int);
	case CP_CONF_ADDR: return sizeof(struct cp_conf_addr);
	default: return sizeof(uint64_t);
	}
}

static int value_differs(const struct cp_conf_key *k, const void *a, const void *b)
{
	const char *pa = (const char *)a + k->offset, *pb = (const char *)b + k->offset;
	if (k->type == CP_CONF_STR)
		return strcmp(pa, pb) != 0;
	if (k->type == CP_CONF_ADDR) {
		const struct cp_conf_addr *x = (const void *)pa, *y = (const void *)pb;
		return strcmp(x->host, y->host) != 0 || x->port != y->port;
	}
	return memcmp(pa, pb, value_size(k->type)) != 0;
}

/* Keys the archive declares reloadable but that it cannot take live. */
static int archive_key_live(const char *name)
{
	return strcmp(name, "keyframe_index") != 0;
}

struct diff {
	json_t *applied, *restart;
};

/* Compare one module's table; copy reloadable changes into live (when
 * non-NULL and can_apply says so) and into the baseline. A change that was
 * not applied stays out of the baseline, so every later reload still
 * reports it until a restart. */
static void diff_table(const struct cp_conf_key *keys, size_t nkeys, void *old,
		       const void *new, void *live, int (*can_apply)(const char *),
		       struct diff *d)
{
	for (size_t i = 0; i < nkeys; i++) {
		const struct cp_conf_key *k = &keys[i];
		if (!value_differs(k, old, new))
			continue;
		char name[96];
		snprintf(name, sizeof(name), "%s.%s", k->section, k->name);
		if (k->reloadable && live && (!can_apply || can_apply(k->name))) {
			memcpy((char *)live + k->offset, (const char *)new + k->offset,
			       value_size(k->type));
			memcpy((char *)old + k->offset, (const char *)new + k->offset,
			       value_size(k->type));
			json_array_append_new(d->applied, json_string(name));
		} else {
			json_array_append_new(d->restart, json_string(name));
		}
	}
}

int cp_mgmt_reload_init(struct cp_mgmt *m, char *err, size_t errlen)
{
	int rc = cp_rtmp_conf_load(m->env.conf_path, &m->base_rtmp, err, errlen);
	if (rc == 0)
		rc = cp_archive_conf_load(m->env.conf_path, &m->base_arch, err, errlen);
	return rc;
}

static void apply_rtmp(struct cp_mgmt *m, const struct cp_rtmp_conf *nc, struct diff *d)
{
	struct cp_rtmp_conf *live = m->env.conf;
	diff_table(cp_rtmp_conf_keys, cp_rtmp_conf_nkeys, &m->base_rtmp, nc, live, NULL, d);
	/* apps_spec is applied (or unchanged): its parsed form follows. */
	memcpy(live->apps, nc->apps, sizeof(live->apps));
	live->napps = nc->napps;
	/* The stream registry keeps its own copy of the limits. */
	struct cp_stream_limits *lim = &m->env.eng->reg.lim;
	lim->skip_threshold = live->viewer_skip_threshold;
	lim->hard_limit = live->viewer_hard_limit;
	lim->gop_cache_max = live->gop_cache_max;
	lim->grace_ms = live->publish_grace_ms;
}

static void apply_archive(struct cp_mgmt *m, const struct cp_archive_conf *nc, struct diff *d)
{
	struct cp_archive *a = m->archive;
	struct cp_archive_conf *live = a ? &a->conf : NULL;
	uint64_t old_check = live ? live->check_interval_ms : 0;
	uint64_t old_ret = live ? live->retention_interval_ms : 0;
	/* Retention reads keep_* on the thread pool: not while it runs. */
	if (a && a->maint_busy && (nc->keep_days != m->base_arch.keep_days ||
				   nc->keep_size != m->base_arch.keep_size)) {
		json_array_append_new(d->restart, json_string("archive.keep_* (retention running, "
							      "reload again)"));
		return;
	}
	diff_table(cp_archive_conf_keys, cp_archive_conf_nkeys, &m->base_arch, nc, live,
		   archive_key_live, d);
	if (live) {
		live->def_policy = nc->def_policy;
		memcpy(live->apps, nc->apps, sizeof(live->apps));
		live->napps = nc->napps;
		cp_archive_set_min_free(a, live->min_free);
		if (live->enabled && old_check != live->check_interval_ms)
			uv_timer_set_repeat(&a->space_timer, live->check_interval_ms);
		if (live->enabled && old_ret != live->retention_interval_ms)
			uv_timer_set_repeat(&a->retention_timer, live->retention_interval_ms);
	}
}

/* Swap in the file's [keys], listing the channels added/removed/changed. */
static void apply_keys(struct cp_mgmt *m, struct cp_keytab *nk, json_t *out)
{
	struct cp_keytab *t = m->env.keys;
	json_t *added = json_array(), *removed = json_array(), *changed = json_array();
	for (size_t i = 0; i < nk->n; i++) {
		size_t j = 0;
		while (j < t->n && strcmp(t->v[j].channel, nk->v[i].channel) != 0)
			j++;
		if (j == t->n)
			json_array_append_new(added, json_string(nk->v[i].channel));
		else if (strcmp(t->v[j].secret, nk->v[i].secret) != 0)
			json_array_append_new(changed, json_string(nk->v[i].channel));
	}
	for (size_t j = 0; j < t->n; j++)
		if (!cp_keytab_channel(nk, t->v[j].secret) ||
		    strcmp(cp_keytab_channel(nk, t->v[j].secret), t->v[j].channel) != 0) {
			size_t i = 0;
			while (i < nk->n && strcmp(nk->v[i].channel, t->v[j].channel) != 0)
				i++;
			if (i == nk->n)
				json_array_append_new(removed, json_string(t->v[j].channel));
		}
	json_object_set_new(out, "added", added);
	json_object_set_new(out, "removed", removed);
	json_object_set_new(out, "changed", changed);
	cp_keytab_free(t);
	*t = *nk;
	memset(nk, 0, sizeof(*nk));
}

int cp_mgmt_cmd_reload(struct cp_mgmt *m, json_t *req, json_t **res, char *err, size_t n)
{
	if (!m->env.conf_path) {
		snprintf(err, n, "lifecast-cp runs without a configuration file (-c)");
		return -ENOENT;
	}
	struct cp_rtmp_conf nr;
	struct cp_archive_conf na;
	struct cp_mgmt_conf nm;
	struct cp_keytab nk = { 0 };
	/* Everything is parsed before anything is applied: a bad file changes
	 * nothing. */
	int rc = cp_rtmp_conf_load(m->env.conf_path, &nr, err, n);
	if (rc == 0)
		rc = cp_archive_conf_load(m->env.conf_path, &na, err, n);
	if (rc == 0)
		rc = cp_conf_load(m->env.conf_path, cp_mgmt_conf_keys, cp_mgmt_conf_nkeys, &nm, err,
				  n);
	if (rc == 0)
		rc = cp_keytab_load(&nk, m->env.conf_path, err, n);
	if (rc != 0) {
		cp_keytab_free(&nk);
		cp_warn("reload refused: %s", err);
		return rc;
	}
	struct diff d = { json_array(), json_array() };
	json_t *keys = json_object();
	apply_rtmp(m, &nr, &d);
	apply_archive(m, &na, &d);
	diff_table(cp_mgmt_conf_keys, cp_mgmt_conf_nkeys, &m->conf, &nm, &m->conf, NULL, &d);
	apply_keys(m, &nk, keys);
	json_object_set_new(keys, "publishers_cut", cp_mgmt_cut_stale_publishers(m));
	m->st.reloads++;
	char *a = json_dumps(d.applied, JSON_COMPACT), *r = json_dumps(d.restart, JSON_COMPACT);
	cp_info("reload: applied %s, restart needed for %s", a ? a : "?", r ? r : "?");
	free(a);
	free(r);
	*res = json_pack("{s:o,s:o,s:o}", "applied", d.applied, "restart_required", d.restart,
			 "keys", keys);
	return 0;
}
