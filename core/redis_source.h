#pragma once
// Drives a hiredis async context from a GMainContext. Replaces hiredis' own
// adapters/glib.h, whose dispatch reads the context again after a write error
// may already have freed it.

#include <glib.h>

struct redisAsyncContext;

namespace jobcast {

// Hooks `ac` to a new GSource attached to `context` and returns it (one ref,
// owned by the caller: g_source_destroy + g_source_unref once hiredis has freed
// the context). The source stops touching `ac` as soon as hiredis frees it.
GSource* attachRedisSource(redisAsyncContext* ac, GMainContext* context);

}  // namespace jobcast
