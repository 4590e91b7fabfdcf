/*  node/call.c — per-request memory and reply helpers; see call.h.  */
#include "node/call.h"

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
    assert(block);
    if (!block)
        abort();
    block->next = call->blocks;
    call->blocks = block;
    return block->data;
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
}

void
fl_call_release(fl_call_t *call)
{
    while (call->blocks) {
        fl_call_block_t *next = call->blocks->next;
        free(call->blocks);
        call->blocks = next;
    }
}
