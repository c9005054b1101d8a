#include "core/redis_source.h"

#include <hiredis/async.h>

namespace jobcast {
namespace {

struct RedisSource {
  GSource source;
  redisAsyncContext* ac;  // null once hiredis has freed the context
  GPollFD poll_fd;
};

void wake(RedisSource* s) {
  if (GMainContext* ctx = g_source_get_context(&s->source)) g_main_context_wakeup(ctx);
}

void addRead(void* data) {
  auto* s = static_cast<RedisSource*>(data);
  s->poll_fd.events |= G_IO_IN;
  wake(s);
}
void delRead(void* data) {
  auto* s = static_cast<RedisSource*>(data);
  s->poll_fd.events &= ~G_IO_IN;
  wake(s);
}
void addWrite(void* data) {
  auto* s = static_cast<RedisSource*>(data);
  s->poll_fd.events |= G_IO_OUT;
  wake(s);
}
void delWrite(void* data) {
  auto* s = static_cast<RedisSource*>(data);
  s->poll_fd.events &= ~G_IO_OUT;
  wake(s);
}

// Called by hiredis while it frees the context.
void cleanup(void* data) {
  auto* s = static_cast<RedisSource*>(data);
  s->ac = nullptr;
  if (s->poll_fd.fd >= 0) {
    g_source_remove_poll(&s->source, &s->poll_fd);
    s->poll_fd.fd = -1;
  }
}

gboolean prepare(GSource*, gint* timeout) {
  *timeout = -1;
  return FALSE;
}

gboolean check(GSource* source) {
  auto* s = reinterpret_cast<RedisSource*>(source);
  return s->ac && (s->poll_fd.revents & (s->poll_fd.events | G_IO_HUP | G_IO_ERR)) != 0;
}

gboolean dispatch(GSource* source, GSourceFunc, gpointer) {
  auto* s = reinterpret_cast<RedisSource*>(source);
  gushort revents = s->poll_fd.revents;
  s->poll_fd.revents = 0;
  if (s->ac && (revents & G_IO_OUT)) redisAsyncHandleWrite(s->ac);
  // The write may have failed and freed the context: look again.
  if (s->ac && (revents & (G_IO_IN | G_IO_HUP | G_IO_ERR))) redisAsyncHandleRead(s->ac);
  return G_SOURCE_CONTINUE;
}

GSourceFuncs kFuncs = {prepare, check, dispatch, nullptr, nullptr, nullptr};

}  // namespace

GSource* attachRedisSource(redisAsyncContext* ac, GMainContext* context) {
  GSource* source = g_source_new(&kFuncs, sizeof(RedisSource));
  auto* s = reinterpret_cast<RedisSource*>(source);
  s->ac = ac;
  s->poll_fd.fd = ac->c.fd;
  s->poll_fd.events = 0;
  s->poll_fd.revents = 0;
  g_source_add_poll(source, &s->poll_fd);
  ac->ev.data = s;
  ac->ev.addRead = addRead;
  ac->ev.delRead = delRead;
  ac->ev.addWrite = addWrite;
  ac->ev.delWrite = delWrite;
  ac->ev.cleanup = cleanup;
  g_source_attach(source, context);
  return source;
}

}  // namespace jobcast
