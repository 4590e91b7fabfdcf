/*  tests/bench/pinger.c — pings through a flowd, pipelined; see pinger.h.
 */
#include "tests/bench/pinger.h"

#include <czmq.h>

/*  Pings with WINDOW in flight over one connection, as raw frames so the
 *  client library's one-call-at-a-time API does not hide the pipeline. */
int
fl_pings(const char *endpoint, Flow__Actor actor, const char *token, int window, int requests,
         const char *const *keys, size_t nkeys, fl_bench_t *bench)
{
    flow_t *flow = flow_new(endpoint);
    Flow__PingRequest ping = FLOW__PING_REQUEST__INIT;
    ping.actor = actor;
    Flow__Request req = FLOW__REQUEST__INIT;
    req.version = FLOW_PROTOCOL_VERSION;
    req.body_case = FLOW__REQUEST__BODY_PING;
    req.ping = &ping;
    req.token = (char *) token;
    uint64_t sent_at[FL_PINGS_WINDOW_MAX];
    uint8_t buf[256];
    int sent = 0, got = 0, rc = 0;
    fl_bench_start(bench);
    while (got < requests && rc == 0) {
        while (sent < requests && sent - got < window) {
            char made[16];
            snprintf(made, sizeof made, "k%d", sent);
            const char *key = keys ? keys[(size_t) sent % nkeys] : made;
            ping.key.data = (uint8_t *) key;
            ping.key.len = strlen(key);
            req.id = (uint64_t) sent + 1;
            size_t len = flow__request__pack(&req, buf);
            sent_at[sent % FL_PINGS_WINDOW_MAX] = fl_bench_now_us();
            if (flow_send_raw(flow, buf, len) != FLOW_OK)
                rc = -1;
            sent++;
        }
        Flow__ServerMessage *msg = NULL;
        if (flow_recv_raw(flow, &msg, 10000) != FLOW_OK
            || msg->kind_case != FLOW__SERVER_MESSAGE__KIND_REPLY
            || msg->reply->status != FLOW__STATUS__OK) {
            fprintf(stderr, "bench: ping failed: %s\n", flow_error(flow));
            rc = -1;
        }
        else
            fl_bench_record(bench, fl_bench_now_us() - sent_at[(msg->reply->id - 1) % FL_PINGS_WINDOW_MAX]);
        if (msg)
            flow__server_message__free_unpacked(msg, NULL);
        got++;
    }
    fl_bench_stop(bench);
    flow_destroy(&flow);
    return rc;
}

/*  Signs a bench user up and copies its access token into TOKEN.  */
int
fl_pings_sign_up(const char *endpoint, char *token, size_t cap)
{
    flow_t *flow = flow_new(endpoint);
    Flow__SignUpRequest su = FLOW__SIGN_UP_REQUEST__INIT;
    su.email = "bench@example.com";
    su.password = "bench password 1";
    su.display_name = "Bench";
    Flow__Request req = FLOW__REQUEST__INIT;
    req.body_case = FLOW__REQUEST__BODY_SIGN_UP;
    req.sign_up = &su;
    Flow__Reply *reply = NULL;
    int rc = -1;
    if (flow_call(flow, &req, &reply, 20000) == FLOW_OK && reply->body_case == FLOW__REPLY__BODY_SESSION) {
        snprintf(token, cap, "%s", reply->session->access_token);
        rc = 0;
    }
    else
        fprintf(stderr, "bench: sign-up failed: %s\n", flow_error(flow));
    if (reply)
        flow__reply__free_unpacked(reply, NULL);
    flow_destroy(&flow);
    return rc;
}


int
fl_pings_args(int argc, char **argv, const char *name, const char **flowd, int *requests)
{
    *flowd = getenv("FLOWD");
    for (int i = 1; i + 1 < argc; i += 2) {
        if (streq(argv[i], "--flowd"))
            *flowd = argv[i + 1];
        else
        if (streq(argv[i], "--requests"))
            *requests = atoi(argv[i + 1]);
    }
    if (*flowd && *requests > 0)
        return 0;
    fprintf(stderr, "usage: %s --flowd PATH [--requests N]\n", name);
    return -1;
}
