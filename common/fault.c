/*
 * fault.c: test fault points (see fault.h). The active set is a small fixed
 * table parsed from SG_FAULTS; hits are logged so a test can count them.
 */
#include "common/fault.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"

#define FAULT_MAX 16

typedef enum FaultAction { FAULT_CRASH, FAULT_STALL } FaultAction;

typedef struct Fault {
	char name[48];
	FaultAction action;
	int stall_ms;
	double probability;
} Fault;

bool sg_faults_enabled = false;
static Fault faults[FAULT_MAX];
static int nfaults;

bool
fault_set(const char *spec)
{
	Fault parsed[FAULT_MAX];
	int n = 0;
	char buf[1024];
	snprintf(buf, sizeof(buf), "%s", spec != NULL ? spec : "");
	char *save = NULL;
	for (char *item = strtok_r(buf, ",", &save); item != NULL; item = strtok_r(NULL, ",", &save)) {
		if (n == FAULT_MAX)
			return false;
		Fault *f = &parsed[n];
		memset(f, 0, sizeof(*f));
		f->probability = 1.0;
		char *at = strchr(item, '@');
		if (at != NULL) {
			*at = '\0';
			f->probability = atof(at + 1);
		}
		char *eq = strchr(item, '=');
		if (eq == NULL || (size_t)(eq - item) >= sizeof(f->name))
			return false;
		*eq = '\0';
		snprintf(f->name, sizeof(f->name), "%s", item);
		const char *act = eq + 1;
		if (strcmp(act, "crash") == 0) {
			f->action = FAULT_CRASH;
		} else if (strncmp(act, "stall:", 6) == 0) {
			f->action = FAULT_STALL;
			f->stall_ms = atoi(act + 6);
		} else {
			return false;
		}
		n++;
	}
	memcpy(faults, parsed, sizeof(Fault) * (size_t)n);
	nfaults = n;
	sg_faults_enabled = n > 0;
	return true;
}

void
fault_init_from_env(void)
{
	const char *spec = getenv("SG_FAULTS");
	if (spec != NULL && !fault_set(spec))
		sg_log_warning(NULL, "ignoring malformed SG_FAULTS \"%s\"", spec);
}

void
fault_hit(const char *name)
{
	for (int i = 0; i < nfaults; i++) {
		Fault *f = &faults[i];
		if (strcmp(f->name, name) != 0)
			continue;
		if (f->probability < 1.0 && (double)random() / RAND_MAX >= f->probability)
			return;
		switch (f->action) {
		case FAULT_CRASH:
			sg_log_warning("fault", "%s: crash", name);
			kill(getpid(), SIGKILL);
			break;
		case FAULT_STALL: {
			sg_log_warning("fault", "%s: stall %d ms", name, f->stall_ms);
			struct timespec ts = {f->stall_ms / 1000, (long)(f->stall_ms % 1000) * 1000000L};
			nanosleep(&ts, NULL);
			break;
		}
		}
	}
}
