/*  Metrics registry: counters, histograms, Prometheus text.  */
#include "node/metrics.h"
#include "tests/testlib.h"

static const char *const s_types[] = { "ping", "info" };
static const char *const s_actors[] = { "session", "user" };

FL_TEST(requests_count_errors_and_latency_buckets)
{
    fl_metrics_t *m = fl_metrics_new(s_types, 2, s_actors, 2);
    FL_CHECK(m != NULL);
    fl_metrics_request(m, 0, 0, 40);
    fl_metrics_request(m, 0, 1, 700);
    fl_metrics_request(m, 0, 0, 20000000);
    fl_metrics_request(m, 7, 0, 1);          /* unknown type: ignored */
    fl_metrics_request_t r;
    fl_metrics_read_request(m, 0, &r);
    FL_CHECK_INT(r.count, ==, 3);
    FL_CHECK_INT(r.errors, ==, 1);
    FL_CHECK_INT(r.sum_us, ==, 20000740);
    FL_CHECK_INT(r.buckets[0], ==, 1);                         /* <= 50us */
    FL_CHECK_INT(r.buckets[4], ==, 2);                         /* <= 1ms */
    FL_CHECK_INT(r.buckets[FL_METRICS_BUCKETS - 2], ==, 2);    /* <= 10s */
    FL_CHECK_INT(r.buckets[FL_METRICS_BUCKETS - 1], ==, 3);    /* +Inf */
    fl_metrics_destroy(&m);
    FL_CHECK(m == NULL);
    fl_metrics_destroy(&m);
}

FL_TEST(actor_counters_track_queue)
{
    fl_metrics_t *m = fl_metrics_new(s_types, 2, s_actors, 2);
    fl_metrics_actor_sent(m, 1);
    fl_metrics_actor_sent(m, 1);
    fl_metrics_actor_handled(m, 1, 1);
    fl_metrics_actor_commit(m, 1);
    fl_metrics_actor_t a;
    fl_metrics_read_actor(m, 1, &a);
    FL_CHECK_INT(a.sent, ==, 2);
    FL_CHECK_INT(a.handled, ==, 1);
    FL_CHECK_INT(a.commits, ==, 1);
    fl_metrics_destroy(&m);
}

FL_TEST(prometheus_text_has_every_series)
{
    fl_metrics_t *m = fl_metrics_new(s_types, 2, s_actors, 2);
    fl_metrics_request(m, 1, 1, 300);
    fl_metrics_malformed(m);
    fl_metrics_gauge_t g = { "flow_uptime_seconds", "Up.", 1.5 };
    char *text = fl_metrics_prometheus(m, &g, 1);
    FL_CHECK(text != NULL);
    FL_CHECK(strstr(text, "# TYPE flow_requests_total counter\n"));
    FL_CHECK(strstr(text, "flow_requests_total{type=\"info\"} 1\n"));
    FL_CHECK(strstr(text, "flow_request_errors_total{type=\"info\"} 1\n"));
    FL_CHECK(strstr(text, "flow_request_duration_seconds_bucket{type=\"info\",le=\"0.0005\"} 1\n"));
    FL_CHECK(strstr(text, "flow_request_duration_seconds_bucket{type=\"info\",le=\"+Inf\"} 1\n"));
    FL_CHECK(strstr(text, "flow_request_duration_seconds_count{type=\"ping\"} 0\n"));
    FL_CHECK(strstr(text, "flow_malformed_requests_total 1\n"));
    FL_CHECK(strstr(text, "flow_actor_sent_total{actor=\"user\"} 0\n"));
    FL_CHECK(strstr(text, "# TYPE flow_uptime_seconds gauge\nflow_uptime_seconds 1.5\n"));
    free(text);
    fl_metrics_destroy(&m);
}
