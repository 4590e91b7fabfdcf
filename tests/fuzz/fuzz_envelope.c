/*  libFuzzer target: a client frame, as the session actor receives it.
 *
 *  Runs the frame through fl_envelope_decode() and, when it decodes,
 *  through the check of its request-table row, which is everything a node
 *  does with client bytes before a handler runs.  Any crash, leak or
 *  undefined behaviour here is a crash a client could cause.
 */
#include "node/envelope.h"
#include "node/requests.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const fl_envelope_limits_t limits = { 1u << 20, 60000 };
    Flow__Request *req = NULL;
    uint64_t id = 0;
    char msg[512];
    Flow__Status status = fl_envelope_decode(data, size, &limits, &req, &id, msg, sizeof msg);
    if (status != FLOW__STATUS__OK)
        return 0;
    const fl_request_def_t *def = fl_requests_find(req->body_case);
    if (def) {
        fl_route_t route = { 0 };
        def->check(req, NULL, &route, msg, sizeof msg);
    }
    flow__request__free_unpacked(req, NULL);
    return 0;
}
