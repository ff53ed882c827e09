/* gateway/session.c: being written */
typedef int sg_placeholder_session;
