/*  tests/cluster/clusterlib.h — clusters of real flowd processes for tests.
 *
 *  What the cluster and fault tests share: starting a node that joins
 *  through another, and reading a node's cluster status through flowctl
 *  until the cluster has settled.  Every wait is bounded.
 */
#ifndef FL_CLUSTERLIB_H
#define FL_CLUSTERLIB_H

#include "tests/integration/harness.h"

/*  Starts NODE on DATA (NULL: a new directory) joining the cluster of
 *  THROUGH with THROUGH's join credential, fast password hashing, no
 *  handoff throttle, and the NULL-terminated EXTRA flags (may be NULL). */
void fl_cluster_join(fl_proc_t *node, const char *data, const fl_proc_t *through,
                     const char *const *extra);

/*  As fl_cluster_join, in network namespace NETNS (NULL: this one).  */
void fl_cluster_join_in(fl_proc_t *node, const char *netns, const char *data,
                        const fl_proc_t *through, const char *const *extra);

/*  `flowctl --json cluster status` of NODE into OUT (CAP bytes); its exit
 *  status.  */
int fl_cluster_status(const fl_proc_t *node, char *out, size_t cap);

/*  The string value of "KEY":"..." in JSON into OUT ("" when absent).  */
void fl_json_string(const char *json, const char *key, char *out, size_t len);

/*  How often NEEDLE occurs in HAY.  */
size_t fl_count(const char *hay, const char *needle);

/*  True when the status in OUT says MEMBERS members, all up, a leader and
 *  no partition moving.  */
bool fl_cluster_settled_in(const char *status, size_t members);

/*  Reads NODE's status into OUT until it has settled with MEMBERS members
 *  (fl_cluster_settled_in), or WAIT_MS passed; true when it did.  */
bool fl_cluster_settled(const fl_proc_t *node, size_t members, int wait_ms, char *out,
                        size_t cap);

/*  Reads the partition digests of the N NODES (flowctl cluster digests)
 *  until every partition's copies agree and, when COPIES is not 0, each
 *  partition has exactly COPIES copies among them and no node holds
 *  records of one it keeps no copy of; or until WAIT_MS passed.  True
 *  when they did, with how many partitions had two copies or more in
 *  *COMPARED_P (may be NULL), else what differed in WHY.  */
bool fl_cluster_copies_agree(const fl_proc_t *nodes, size_t n, uint32_t partitions,
                             size_t copies, int wait_ms, size_t *compared_p, char *why,
                             size_t whylen);

#endif
