#ifndef SG_TXN_GID_H
#define SG_TXN_GID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * 2PC global transaction ids. A distributed transaction's id is
 * `sg_<gateway>_<txid>_<decider>` (the commit-log key, stored on node
 * <decider>, the participant whose commit is the decision); its prepared
 * transaction on node n is `sg_<gateway>_<txid>_<decider>_<n>`. So recovery,
 * given any prepared transaction, knows where its decision lives. Only
 * [a-z0-9_] ever appear, so an id is safe inside a quoted literal (PREPARE
 * TRANSACTION takes no parameters).
 */

#define GID_MAX_LEN 64

/* gid_make: out = "sg_<gateway_id>_<txid>_<decider>"; gateway_id must be [a-z0-9]+ */
void gid_make(char *out, size_t cap, const char *gateway_id, uint64_t txid, int32_t decider);
/* gid_participant: out = "<gid>_<node_id>" */
void gid_participant(char *out, size_t cap, const char *gid, int32_t node_id);
/* gid_is_valid: matches sg_[a-z0-9]+_[0-9]+_[0-9]+(_[0-9]+)? */
bool gid_is_valid(const char *gid);
/*
 * gid_split: participant gid -> its transaction gid (copied to base), the
 * deciding node and the participant's node; false if not a participant gid
 */
bool gid_split(const char *pgid, char *base, size_t cap, int32_t *decider, int32_t *node_id);

#endif /* SG_TXN_GID_H */
