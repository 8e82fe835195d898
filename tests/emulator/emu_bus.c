/*
 * emu_bus.c - the per-channel event logs behind sfemu's Streaming API (see
 * emu_bus.h for the model and the locking rules).
 *
 * A channel keeps its retained events in a ring (grown up to the cap):
 * replay ids are consecutive inside it, so finding "the events after N" is
 * an index computation, not a search.
 */
#include "emu_bus.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct emu_bus_event {
    int64_t wall_ms; /* publish time, for retention */
    char *msg;       /* serialized Bayeux message */
    size_t len;
} emu_bus_event_t;

struct emu_bus_chan {
    char *name;
    emu_bus_event_t *ring;
    size_t alloc, head, count; /* ring[head] holds replay id first_id */
    uint64_t first_id;         /* replay id of the oldest retained event */
    uint64_t last_id;          /* newest replay id ever published, 0 = none */
    emu_bus_chan_t *next;
};

struct emu_bus {
    pthread_mutex_t lock;
    pthread_cond_t cond; /* CLOCK_MONOTONIC */
    emu_bus_chan_t *chans;
    size_t nchans;
    size_t max_events;
    int64_t retention_ms;
};

#define EMU_BUS_MAX_CHANNELS 4096 /* channels are named by the schema and PushTopics */

int emu_buf_append(emu_buf_t *b, const char *s, size_t n)
{
    if (b->max && b->len + n + 1 > b->max)
        return -1;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p)
            return -1;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

void emu_buf_free(emu_buf_t *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

int64_t emu_bus_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t emu_bus_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void emu_bus_iso(int64_t wall_ms, char out[32])
{
    time_t t = (time_t)(wall_ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(out, 32, "%04u-%02u-%02uT%02u:%02u:%02u.%03uZ", (unsigned)(tm.tm_year + 1900) % 10000u,
             (unsigned)(tm.tm_mon + 1) % 100u, (unsigned)tm.tm_mday % 100u,
             (unsigned)tm.tm_hour % 100u, (unsigned)tm.tm_min % 100u, (unsigned)tm.tm_sec % 100u,
             (unsigned)(wall_ms % 1000) % 1000u);
}

emu_bus_t *emu_bus_create(long retention_hours, size_t max_events)
{
    emu_bus_t *bus = calloc(1, sizeof(*bus));
    if (!bus)
        return NULL;
    pthread_mutex_init(&bus->lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&bus->cond, &attr);
    pthread_condattr_destroy(&attr);
    bus->max_events = max_events ? max_events : EMU_BUS_DEFAULT_MAX_EVENTS;
    bus->retention_ms =
        (int64_t)(retention_hours > 0 ? retention_hours : EMU_BUS_DEFAULT_RETENTION_HOURS) * 3600 *
        1000;
    return bus;
}

static void emu_bus_chan_free(emu_bus_chan_t *chan)
{
    for (size_t i = 0; i < chan->count; i++)
        free(chan->ring[(chan->head + i) % chan->alloc].msg);
    free(chan->ring);
    free(chan->name);
    free(chan);
}

void emu_bus_destroy(emu_bus_t *bus)
{
    if (!bus)
        return;
    for (emu_bus_chan_t *c = bus->chans, *next; c; c = next) {
        next = c->next;
        emu_bus_chan_free(c);
    }
    pthread_cond_destroy(&bus->cond);
    pthread_mutex_destroy(&bus->lock);
    free(bus);
}

void emu_bus_lock(emu_bus_t *bus)
{
    pthread_mutex_lock(&bus->lock);
}

void emu_bus_unlock(emu_bus_t *bus)
{
    pthread_mutex_unlock(&bus->lock);
}

void emu_bus_wait_locked(emu_bus_t *bus, int64_t deadline_ms)
{
    struct timespec ts = {.tv_sec = (time_t)(deadline_ms / 1000),
                          .tv_nsec = (long)(deadline_ms % 1000) * 1000000L};
    pthread_cond_timedwait(&bus->cond, &bus->lock, &ts);
}

void emu_bus_broadcast_locked(emu_bus_t *bus)
{
    pthread_cond_broadcast(&bus->cond);
}

emu_bus_chan_t *emu_bus_chan_locked(emu_bus_t *bus, const char *name, bool create)
{
    for (emu_bus_chan_t *c = bus->chans; c; c = c->next)
        if (!strcmp(c->name, name))
            return c;
    if (!create || bus->nchans >= EMU_BUS_MAX_CHANNELS)
        return NULL;
    emu_bus_chan_t *c = calloc(1, sizeof(*c));
    if (!c || !(c->name = strdup(name))) {
        free(c);
        return NULL;
    }
    c->first_id = 1;
    c->next = bus->chans;
    bus->chans = c;
    bus->nchans++;
    return c;
}

const char *emu_bus_chan_name(const emu_bus_chan_t *chan)
{
    return chan->name;
}

static void emu_bus_drop_oldest(emu_bus_chan_t *c)
{
    free(c->ring[c->head].msg);
    c->ring[c->head].msg = NULL;
    c->head = (c->head + 1) % c->alloc;
    c->count--;
    c->first_id++;
}

/* Drops the events past retention (the oldest are at the head). */
static void emu_bus_prune(emu_bus_t *bus, emu_bus_chan_t *c)
{
    int64_t horizon = emu_bus_wall_ms() - bus->retention_ms;
    while (c->count > 0 && c->ring[c->head].wall_ms < horizon)
        emu_bus_drop_oldest(c);
}

/* Room for one more event: grow the ring up to the cap, else drop the oldest. */
static int emu_bus_make_room(emu_bus_t *bus, emu_bus_chan_t *c)
{
    if (c->count < c->alloc)
        return 0;
    if (c->alloc >= bus->max_events) {
        emu_bus_drop_oldest(c);
        return 0;
    }
    size_t alloc = c->alloc ? c->alloc * 2 : 64;
    if (alloc > bus->max_events)
        alloc = bus->max_events;
    emu_bus_event_t *ring = calloc(alloc, sizeof(*ring));
    if (!ring)
        return -1;
    for (size_t i = 0; i < c->count; i++) /* unroll the ring: head becomes 0 */
        ring[i] = c->ring[(c->head + i) % c->alloc];
    free(c->ring);
    c->ring = ring;
    c->alloc = alloc;
    c->head = 0;
    return 0;
}

int emu_bus_serialize(const json_t *data, char **data_text, char **event_text)
{
    *data_text = *event_text = NULL;
    json_t *event = json_object_get(data, "event");
    json_t *rest = json_copy((json_t *)data); /* shallow: only "event" is left out */
    if (!json_is_object(event) || !rest)
        goto fail;
    json_object_del(rest, "event");
    *data_text = json_dumps(rest, JSON_COMPACT);
    *event_text = json_dumps(event, JSON_COMPACT);
    json_decref(rest);
    rest = NULL;
    if (*data_text && *event_text)
        return 0;
fail:
    json_decref(rest);
    free(*data_text);
    free(*event_text);
    *data_text = *event_text = NULL;
    return -1;
}

uint64_t emu_bus_publish(emu_bus_t *bus, const char *channel, json_t *data, bool with_created_date)
{
    char *dt = NULL, *et = NULL;
    if (emu_bus_serialize(data, &dt, &et) != 0)
        return 0;
    uint64_t id = emu_bus_publish_text(bus, channel, dt, et, with_created_date);
    free(dt);
    free(et);
    return id;
}

/* Appends the object text without its closing brace, plus a comma when it
 * had members: {"a":1} -> {"a":1,   and {} -> {  */
static int emu_bus_open(emu_buf_t *b, const char *obj)
{
    size_t n = strlen(obj);
    if (n < 2 || obj[0] != '{' || obj[n - 1] != '}')
        return -1;
    if (emu_buf_append(b, obj, n - 1) != 0)
        return -1;
    return n > 2 ? emu_buf_append(b, ",", 1) : 0;
}

uint64_t emu_bus_publish_text(emu_bus_t *bus, const char *channel, const char *data_text,
                              const char *event_text, bool with_created_date)
{
    uint64_t id = 0;
    emu_buf_t b = {.max = 16u << 20};
    json_t *jch = json_string(channel);
    char *chtext = jch ? json_dumps(jch, JSON_ENCODE_ANY) : NULL; /* quoted and escaped */
    json_decref(jch);
    int64_t wall = emu_bus_wall_ms();
    char iso[32], tail[128];
    emu_bus_iso(wall, iso);
    /* Sized once: events stay in memory for the retention window, so no
     * slack (a default 4 KiB start would be 6x a change event). */
    b.cap = strlen(data_text) + strlen(event_text) + (chtext ? strlen(chtext) : 0) + 128;
    b.p = malloc(b.cap);
    if (!b.p)
        b.cap = 0;
    pthread_mutex_lock(&bus->lock);
    emu_bus_chan_t *c = chtext && b.p ? emu_bus_chan_locked(bus, channel, true) : NULL;
    if (!c)
        goto done;
    emu_bus_prune(bus, c);
    if (emu_bus_make_room(bus, c) != 0)
        goto done;
    /* Composed under the lock: the replay id must be the next one and the
     * log stays in replay-id order. */
    if (with_created_date)
        snprintf(tail, sizeof(tail), "\"createdDate\":\"%s\",\"replayId\":%llu}},\"channel\":", iso,
                 (unsigned long long)(c->last_id + 1));
    else
        snprintf(tail, sizeof(tail),
                 "\"replayId\":%llu}},\"channel\":", (unsigned long long)(c->last_id + 1));
    if (emu_buf_append(&b, "{\"data\":", 8) != 0 || emu_bus_open(&b, data_text) != 0 ||
        emu_buf_append(&b, "\"event\":", 8) != 0 || emu_bus_open(&b, event_text) != 0 ||
        emu_buf_append(&b, tail, strlen(tail)) != 0 ||
        emu_buf_append(&b, chtext, strlen(chtext)) != 0 || emu_buf_append(&b, "}", 1) != 0)
        goto done;
    if (c->count == 0)
        c->first_id = c->last_id + 1;
    c->ring[(c->head + c->count) % c->alloc] =
        (emu_bus_event_t){.wall_ms = wall, .msg = b.p, .len = b.len};
    b.p = NULL;
    c->count++;
    id = ++c->last_id;
    pthread_cond_broadcast(&bus->cond);
done:
    pthread_mutex_unlock(&bus->lock);
    emu_buf_free(&b);
    free(chtext);
    return id;
}

size_t emu_bus_range_locked(emu_bus_t *bus, emu_bus_chan_t *c, uint64_t *first, uint64_t *last)
{
    emu_bus_prune(bus, c);
    if (c->count == 0)
        c->first_id = c->last_id + 1;
    *first = c->first_id;
    *last = c->last_id;
    return c->count;
}

size_t emu_bus_collect_locked(emu_bus_t *bus, emu_bus_chan_t *c, uint64_t *cursor, size_t max,
                              const char *client_id, emu_buf_t *out)
{
    char cid[64] = ""; /* client ids are sfemu's own [0-9a-z]: no escaping needed */
    if (client_id)
        snprintf(cid, sizeof(cid), "\"clientId\":\"%.40s\",", client_id);
    size_t cid_len = strlen(cid);
    uint64_t first, last;
    emu_bus_range_locked(bus, c, &first, &last);
    if (*cursor + 1 < first)
        *cursor = first - 1; /* gone before delivery: nothing left to send */
    size_t n = 0;
    while (*cursor < last && n < max) {
        const emu_bus_event_t *e = &c->ring[(c->head + (*cursor + 1 - first)) % c->alloc];
        if (emu_buf_append(out, ",{", 2) != 0 || emu_buf_append(out, cid, cid_len) != 0 ||
            emu_buf_append(out, e->msg + 1, e->len - 1) != 0)
            break;
        (*cursor)++;
        n++;
    }
    return n;
}

size_t emu_bus_expire(emu_bus_t *bus, const char *channel, uint64_t through)
{
    size_t n = 0;
    pthread_mutex_lock(&bus->lock);
    for (emu_bus_chan_t *c = bus->chans; c; c = c->next) {
        if (channel && strcmp(channel, c->name) != 0)
            continue;
        while (c->count > 0 && (through == 0 || c->first_id <= through)) {
            emu_bus_drop_oldest(c);
            n++;
        }
        if (c->count == 0)
            c->first_id = c->last_id + 1;
    }
    pthread_mutex_unlock(&bus->lock);
    return n;
}

void emu_bus_set_retention_ms(emu_bus_t *bus, int64_t ms)
{
    pthread_mutex_lock(&bus->lock);
    bus->retention_ms = ms;
    pthread_mutex_unlock(&bus->lock);
}

int64_t emu_bus_retention_ms(emu_bus_t *bus)
{
    pthread_mutex_lock(&bus->lock);
    int64_t ms = bus->retention_ms;
    pthread_mutex_unlock(&bus->lock);
    return ms;
}

json_t *emu_bus_info(emu_bus_t *bus, const char *channel)
{
    json_t *out = NULL;
    pthread_mutex_lock(&bus->lock);
    emu_bus_chan_t *c = emu_bus_chan_locked(bus, channel, false);
    if (c) {
        uint64_t first, last;
        size_t count = emu_bus_range_locked(bus, c, &first, &last);
        out =
            json_pack("{s:s,s:I,s:I,s:I}", "channel", c->name, "first_replay_id", (json_int_t)first,
                      "last_replay_id", (json_int_t)last, "count", (json_int_t)count);
    }
    pthread_mutex_unlock(&bus->lock);
    return out;
}
