/*
 * libFuzzer: agent and collector config loading (libyaml plus our walker
 * and unit parsers) on arbitrary files. Errors are expected; crashes,
 * leaks and undefined behaviour are not.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include "agent.h"
#include "collector.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[64];
	struct agent_conf ac;
	struct collector_conf cc;
	FILE *fp;

	if (path[0] == '\0')
		snprintf(path, sizeof(path), "/tmp/ws-fuzz-config-%d.yaml",
		         (int)getpid());
	if ((fp = fopen(path, "w")) == NULL)
		return 0;
	fwrite(data, 1, size, fp);
	fclose(fp);
	if (agent_conf_load(path, &ac) == 0)
		agent_conf_free(&ac);
	if (collector_conf_load(path, &cc) == 0)
		collector_conf_free(&cc);
	return 0;
}
