#ifndef SG_COMMON_FAULT_H
#define SG_COMMON_FAULT_H

#include <stdbool.h>

/*
 * Named fault points for tests: SG_FAULT_POINT("after_decide") does nothing
 * unless the environment variable SG_FAULTS names the point:
 *
 *   SG_FAULTS="after_decide=crash@0.05,before_prepare=stall:200"
 *
 * crash  - the process dies at once (SIGKILL itself: no cleanup, like kill -9)
 * stall:N - the loop sleeps N ms there (a stalled gateway)
 * @P     - fire with probability P (default 1)
 *
 * Compiled in every build: one branch on a cached flag when SG_FAULTS is unset.
 * fault_set() lets the admin console change the set at run time.
 */

extern bool sg_faults_enabled;

void fault_init_from_env(void);
/* fault_set replaces the active set (same syntax as SG_FAULTS); false if malformed */
bool fault_set(const char *spec);
void fault_hit(const char *name);

#define SG_FAULT_POINT(name)                                                                       \
	do {                                                                                           \
		if (sg_faults_enabled)                                                                     \
			fault_hit(name);                                                                       \
	} while (0)

#endif /* SG_COMMON_FAULT_H */
