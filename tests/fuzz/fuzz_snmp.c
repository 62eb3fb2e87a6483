/*
 * libFuzzer: what the agent does with what a device sends: net-snmp parses
 * the packet (snmp_pdu_parse), then our decoding turns each varbind into a
 * value and all of them into a trap event's text (snmpc_render), and OIDs
 * from configs are parsed by snmpc_parse_oid.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "snmp.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int init;
	netsnmp_pdu *pdu;
	netsnmp_variable_list *vb;
	u_char *copy;
	size_t len = size;
	char *text;
	oid o[MAX_OID_LEN];
	size_t n;

	if (!init++) {
		setenv("MIBS", "", 1);
		netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID,
		                       NETSNMP_DS_LIB_DONT_READ_CONFIGS, 1);
		init_snmp("fuzz");
	}
	text = malloc(size + 1);
	memcpy(text, data, size);
	text[size] = '\0';
	snmpc_parse_oid(text, o, &n);
	free(text);

	/* A PDU body as it follows the header of a v2c message. */
	copy = malloc(size ? size : 1);
	memcpy(copy, data, size);
	pdu = snmp_pdu_create(SNMP_MSG_RESPONSE);
	pdu->version = SNMP_VERSION_2c;
	if (snmp_pdu_parse(pdu, copy, &len) == 0)
	{
		char line[2048];

		for (vb = pdu->variables; vb != NULL; vb = vb->next_variable) {
			struct snmpc_val v;
			snmpc_decode(vb, &v);
		}
		/* As a trap's varbinds become an event's text. */
		snmpc_render(pdu->variables, line, sizeof(line));
	}
	snmp_free_pdu(pdu);
	free(copy);
	return 0;
}
