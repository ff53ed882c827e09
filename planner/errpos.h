#ifndef SG_PLANNER_ERRPOS_H
#define SG_PLANNER_ERRPOS_H

/*
 * errpos.h: an error position reported by a node points into the SQL the
 * gateway sent (a shard statement, a UNION ALL over shards, a stage
 * fragment); the client expects it in its own statement. errpos_map finds
 * the token at the node's position and the same token (the same
 * occurrence, counting from the start) in the client's text.
 */

/*
 * errpos_map: the 1-based position in orig of the token at 1-based position
 * pos of sent; 0 when it cannot be found (the position is then left out);
 * pos itself when orig is NULL (unknown) or equal to sent
 */
int errpos_map(const char *sent, const char *orig, int pos);

#endif /* SG_PLANNER_ERRPOS_H */
