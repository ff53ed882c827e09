/* storage/node.c: being written */
typedef int sg_placeholder_node;
