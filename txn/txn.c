/* txn/txn.c: being written */
typedef int sg_placeholder_txn;
