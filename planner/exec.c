/* planner/exec.c: being written */
typedef int sg_placeholder_exec;
