/*
 * commands.h — the eight §5 commands, one handler each (commands.c), and the
 * table module.c dispatches through.
 *
 * A handler runs only on a request whose header and body already passed
 * §3/§4 and its request table (the fields in f, in table order). It returns
 * the reply status; on DL_S_OK it has appended the reply fields to w, on a
 * refusal it has written a detail (≤ 128 bytes, never secret) into detail.
 * A handler changes durable state only through storage.h / efuse.h, and only
 * after every check of its rules has passed.
 */
#ifndef DL_COMMANDS_H
#define DL_COMMANDS_H

#include "module.h"
#include "tlv.h"

typedef int (*dl_handler)(struct dl_module *m, const struct dl_tlv_value *f,
			  struct dl_tlv_writer *w, char *detail);

struct dl_command {
	uint8_t type;
	const struct dl_field *request;
	size_t nrequest;
	dl_handler handle;
	uint8_t gate[5]; /* per §7 state: a refusal status, or 0xFF: run the handler */
};

/* The commands a module accepts (BOOT is not one of them). */
const struct dl_command *dl_command_find(uint8_t type);

/* Applies §7's state gate of c, then its handler (same contract as dl_handler). */
int dl_command_run(const struct dl_command *c, struct dl_module *m, const struct dl_tlv_value *f,
		   struct dl_tlv_writer *w, char *detail);

#endif
