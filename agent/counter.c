#include "agent.h"

/*
 * The increase of a counter between two reads. Some drivers still keep
 * 32-bit counters: a decrease from below 2^32 is taken as one wrap when the
 * wrapped distance is plausible (under 2^31). Any other decrease means the
 * counter was reset (interface re-created, device rebooted): no delta, so a
 * reset never shows as a spike. Returns 1 with a delta, 0 without.
 */
int
counter_delta(uint64_t prev, uint64_t cur, uint64_t *delta)
{
	const uint64_t wrap32 = (uint64_t)1 << 32;

	if (cur >= prev) {
		*delta = cur - prev;
		return 1;
	}
	if (prev < wrap32 && cur < wrap32) {
		uint64_t d = wrap32 - prev + cur;
		if (d < ((uint64_t)1 << 31)) {
			*delta = d;
			return 1;
		}
	}
	return 0;
}
