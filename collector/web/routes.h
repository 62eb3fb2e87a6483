/*
 * The API's route table, like tmux's cmd_table[]: one line per endpoint
 * (method, path pattern, the least role, handler, flags). A pattern is literal
 * segments and typed captures: {id} a whole number, {name} a host name.
 * route_match is pure (paths and method bits in, a route out) so that it
 * can be tested without a server.
 */
#ifndef WATCHSTAND_ROUTES_H
#define WATCHSTAND_ROUTES_H

#include <stddef.h>
#include <stdint.h>

#define ROUTE_PUBLIC (-1) /* no login needed */
/* Only the leader can do it (the database fences the write, or the state
 * is the leader's): a follower forwards it (api_forward.c). */
#define ROUTE_LEADER 0x1
#define ROUTE_NAME_MAX 64

struct api_req;

/* What a path's captures held. */
struct route_caps {
	int64_t rc_id;                    /* {id} */
	char rc_name[ROUTE_NAME_MAX + 1]; /* {name} */
};

struct route {
	unsigned r_method; /* one EVHTTP_REQ_* bit */
	const char *r_path;
	int r_role; /* enum user_role, or ROUTE_PUBLIC */
	void (*r_fn)(struct api_req *);
	const char *r_denied; /* the 403 text for a role too low */
	unsigned r_flags;     /* ROUTE_LEADER */
};

enum route_result {
	ROUTE_FOUND,     /* *found: the route */
	ROUTE_NO_PATH,   /* 404 */
	ROUTE_NO_METHOD, /* 405; *found: a route of the path, *allow: its
	                    methods */
};

extern const struct route routes[];
extern const size_t routes_n;

/* Path is under /api/v1 without that prefix ("/alarms/7/ack"). */
enum route_result route_match(const struct route *table, size_t n,
                              unsigned method, const char *path,
                              struct route_caps *caps,
                              const struct route **found, unsigned *allow);
/* "GET, POST" for an Allow header; "GET or POST" with " or ". */
void route_methods(unsigned allow, const char *sep, char *buf, size_t len);
/* The value of cookie name in a Cookie header (RFC 6265 cookie-string:
 * name=value pairs split by "; "), copied to buf; -1 when absent. */
int route_cookie(const char *header, const char *name, char *buf, size_t len);

#endif
