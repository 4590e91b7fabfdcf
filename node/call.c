/*  node/call.c — per-request memory and reply helpers; see call.h.  */
#include "node/call.h"
#include "cluster.pb-c.h"
#include "node/outbox.h"

#include <czmq.h>

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fl_call_block_t {
    fl_call_block_t *next;
    max_align_t data[];
};

void
fl_call_init(fl_call_t *call, const void *node, const Flow__Request *request,
             Flow__Actor actor, uint32_t partition)
{
    memset(call, 0, sizeof *call);
    call->node = node;
    call->request = request;
    call->actor = actor;
    call->partition = partition;
    flow__reply__init(&call->reply);
    call->reply.id = request ? request->id : 0;
}

void *
fl_call_alloc(fl_call_t *call, size_t size)
{
    fl_call_block_t *block = calloc(1, sizeof *block + size);
    if (!block)
        abort();
    block->next = call->blocks;
    call->blocks = block;
    return block->data;
}

static void *
s_pb_alloc(void *data, size_t size)
{
    return fl_call_alloc(data, size);
}

static void
s_pb_free(void *data, void *p)
{
    (void) data;
    (void) p;
}

ProtobufCAllocator *
fl_call_allocator(fl_call_t *call)
{
    call->allocator = (ProtobufCAllocator) { s_pb_alloc, s_pb_free, call };
    return &call->allocator;
}

char *
fl_call_strdup(fl_call_t *call, const char *s)
{
    size_t len = strlen(s) + 1;
    char *copy = fl_call_alloc(call, len);
    memcpy(copy, s, len);
    return copy;
}

void
fl_call_defer(fl_call_t *call, fl_work_fn *work, void *arg)
{
    assert(!call->work && arg);
    call->work = work;
    call->work_arg = arg;
}

int
fl_call_tell(fl_call_t *call, Flow__Actor actor, const char *route_key,
             const Flow__Request *request)
{
    assert(call->outbox && call->txn);
    fl_call_told_t *told = fl_call_alloc(call, sizeof *told);
    int rc = fl_outbox_put(call->outbox, call->txn, call->partition, actor, route_key, request,
                           &told->seq);
    if (rc)
        return rc;
    told->actor = actor;
    told->route_key = route_key;
    told->request = request;
    told->next = call->told;
    call->told = told;
    return 0;
}

void
fl_call_ask(fl_call_t *call, Flow__Actor actor, const char *route_key,
            const Flow__Request *request)
{
    assert(!call->ask_request && !call->work);
    call->ask_actor = actor;
    call->ask_key = route_key;
    call->ask_request = request;
}

void
fl_call_revoke(fl_call_t *call, const char *session_id, uint64_t until_s)
{
    assert(call->nrevoked < FL_CALL_REVOKED_MAX);
    if (call->nrevoked == FL_CALL_REVOKED_MAX)
        return;
    Flow__Cluster__Revocation *r = fl_call_alloc(call, sizeof *r);
    flow__cluster__revocation__init(r);
    size_t len = strlen(session_id) + 1;
    r->session_id = fl_call_alloc(call, len);
    memcpy(r->session_id, session_id, len);
    r->until_s = until_s;
    call->revoked[call->nrevoked++] = r;
}

void
fl_call_after_commit(fl_call_t *call, const char *endpoint, const ProtobufCMessage *msg)
{
    assert(call->nafter < FL_CALL_AFTER_MAX);
    if (call->nafter == FL_CALL_AFTER_MAX)
        return;
    size_t size = protobuf_c_message_get_packed_size(msg);
    zframe_t *frame = zframe_new(NULL, size);
    protobuf_c_message_pack(msg, zframe_data(frame));
    call->after_endpoint[call->nafter] = endpoint;
    call->after_frame[call->nafter] = frame;
    call->nafter++;
}

static void
s_drop_after(fl_call_t *call)
{
    for (size_t i = 0; i < call->nafter; i++)
        zframe_destroy((zframe_t **) &call->after_frame[i]);
    call->nafter = 0;
}

void
fl_call_fail(fl_call_t *call, Flow__Status status, const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    vsnprintf(call->message, sizeof call->message, fmt, args);
    va_end(args);
    call->reply.status = status;
    call->reply.message = call->message;
    call->reply.body_case = FLOW__REPLY__BODY__NOT_SET;
}

void
fl_call_reset(fl_call_t *call)
{
    uint64_t id = call->reply.id;
    flow__reply__init(&call->reply);
    call->reply.id = id;
    call->message[0] = '\0';
    call->nrevoked = 0;
    call->commit_on_error = false;
    call->scratch = NULL;
    call->told = NULL;
    call->ask_request = NULL;
    s_drop_after(call);
    if (!call->resumed) {
        free(call->work_arg);
        call->work_arg = NULL;
        call->work = NULL;
    }
}

void
fl_call_release(fl_call_t *call)
{
    call->nrevoked = 0;
    call->scratch = NULL;
    call->told = NULL;
    call->ask_request = NULL;
    s_drop_after(call);
    while (call->blocks) {
        fl_call_block_t *next = call->blocks->next;
        free(call->blocks);
        call->blocks = next;
    }
}
