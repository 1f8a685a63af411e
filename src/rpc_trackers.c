/* rpc_trackers.c: torrent-set's tracker edits as Transmission has them: trackerAdd (each URL a
 * tier of its own), trackerRemove and trackerReplace (by the ids of trackers[].id), trackerList
 * (the whole list as text, Transmission 4); the engine checks and applies the result. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "rpc_private.h"
#include "tracker_list.h"
#include "util.h"

int
rpc_trackers_check(json_t *args, char *err, size_t errlen)
{
	json_t *v = rpc_arg_get(args, "trackerAdd");
	size_t i;
	json_t *x;
	if (v != NULL) {
		if (!json_is_array(v))
			return dp_fail(err, errlen, "argument 'trackerAdd' must be a list of URLs");
		json_array_foreach(v, i, x)
			if (!json_is_string(x))
				return dp_fail(err, errlen, "argument 'trackerAdd' must be a list of URLs");
	}
	v = rpc_arg_get(args, "trackerRemove");
	if (v != NULL) {
		if (!json_is_array(v))
			return dp_fail(err, errlen, "argument 'trackerRemove' must be a list of ids");
		json_array_foreach(v, i, x)
			if (!json_is_integer(x))
				return dp_fail(err, errlen, "argument 'trackerRemove' must be a list of ids");
	}
	v = rpc_arg_get(args, "trackerReplace");
	if (v != NULL) {
		if (!json_is_array(v) || json_array_size(v) % 2 != 0)
			return dp_fail(err, errlen, "argument 'trackerReplace' must be pairs of an id "
			    "and a URL");
		json_array_foreach(v, i, x)
			if (i % 2 == 0 ? !json_is_integer(x) : !json_is_string(x))
				return dp_fail(err, errlen, "argument 'trackerReplace' must be pairs of "
				    "an id and a URL");
	}
	v = rpc_arg_get(args, "trackerList");
	if (v != NULL && !json_is_string(v))
		return dp_fail(err, errlen, "argument 'trackerList' must be a string");
	return 0;
}

/* The edits of args on l: -1 with err when one of them changes nothing (Transmission answers
 * so too: a URL there already, an id no tracker has). */
static int
rpc_trackers_edit(struct tracker_list *l, json_t *args, char *err, size_t errlen)
{
	size_t i;
	json_t *x, *v = rpc_arg_get(args, "trackerAdd");
	bool changed = false;
	if (v != NULL) {
		json_array_foreach(v, i, x)
			changed |= tracker_list_append(l, json_string_value(x));
		if (!changed && json_array_size(v) > 0)
			return dp_fail(err, errlen, "trackerAdd: each URL is on the list already");
	}
	v = rpc_arg_get(args, "trackerRemove");
	if (v != NULL) {
		json_array_foreach(v, i, x)
			if (!tracker_list_remove_id(l, json_integer_value(x)))
				return dp_fail(err, errlen, "trackerRemove: no tracker has id %" JSON_INTEGER_FORMAT,
				    json_integer_value(x));
	}
	v = rpc_arg_get(args, "trackerReplace");
	if (v != NULL) {
		for (i = 0; i + 1 < json_array_size(v); i += 2) {
			json_int_t id = json_integer_value(json_array_get(v, i));
			const char *url = json_string_value(json_array_get(v, i + 1));
			if (!tracker_list_replace_id(l, id, url))
				return dp_fail(err, errlen, "trackerReplace: no tracker has id %"
				    JSON_INTEGER_FORMAT ", or the URL is on the list already", id);
		}
	}
	return 0;
}

int
rpc_trackers_apply(struct rpc_handler *h, int id, json_t *args, char *err, size_t errlen)
{
	json_t *list = rpc_arg_get(args, "trackerList");
	if (rpc_arg_get(args, "trackerAdd") == NULL && rpc_arg_get(args, "trackerRemove") == NULL &&
	    rpc_arg_get(args, "trackerReplace") == NULL && list == NULL)
		return 0;
	char *text;
	if (engine_torrent_tracker_list(h->e, id, &text, err, errlen) < 0)
		return -1;
	if (list != NULL) {
		free(text);
		text = xstrdup(json_string_value(list));
	}
	struct tracker_list l;
	int rc = tracker_list_parse(text, strlen(text), &l, err, errlen);
	free(text);
	if (rc < 0)
		return -1;
	rc = rpc_trackers_edit(&l, args, err, errlen);
	if (rc == 0) {
		text = tracker_list_format(l.tiers, l.n);
		rc = engine_torrent_set_tracker_list(h->e, id, text, err, errlen);
		free(text);
	}
	tracker_list_free(&l);
	return rc;
}
