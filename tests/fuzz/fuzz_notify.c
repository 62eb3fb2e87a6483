/* libFuzzer: what reaches the collector's notifications from outside: ack
 * link tokens (anyone can request /ack/...), robot answers (a chat
 * service's body), and body templates (the config). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "notify/acklink.h"
#include "notify/channel.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned char key[] = "0123456789abcdef0123456789abcdef";
	char *s, who[ACKLINK_RECIPIENT_MAX + 1], sig[64], err[256], *out;
	struct notify_channel ch = {.ch_name = "f"};
	struct channel_request req;
	json_t *vars;
	int64_t alarm;

	if (size < 1)
		return 0;
	s = malloc(size);
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	switch (data[0] % 3) {
	case 0:
		acklink_verify(key, 32, s, 1900000000, &alarm, who, sizeof(who),
		               sig, sizeof(sig));
		break;
	case 1:
		memset(&req, 0, sizeof(req));
		snprintf(req.cr_resp, sizeof(req.cr_resp), "%s", s);
		req.cr_resp_len = strlen(req.cr_resp);
		ch.ch_type = data[0] % 2 ? CH_DINGTALK : CH_FEISHU;
		channel_judge(&ch, CURLE_OK, 200, &req, err, sizeof(err));
		break;
	case 2:
		if (template_check(s, err, sizeof(err)) == 0) {
			vars = json_pack("{s:s, s:i}", "summary", "a\"b",
			                 "count", 2);
			out = template_render(s, vars,
			                      data[0] % 2 ? ESC_JSON : ESC_URL);
			free(out);
			json_decref(vars);
		}
		break;
	}
	free(s);
	return 0;
}
