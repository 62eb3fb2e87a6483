/* Loads the probe-family modules (module.h) once each, never unloads. */
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "module.h"

struct module {
	char name[16];
	void *handle;
};

static struct module modules[8];
static size_t nmodules;

void
module_path(const char *name, char *buf, size_t len)
{
	const char *dir = getenv("WATCHSTAND_MODULE_DIR");
	char exe[PATH_MAX], *slash;
	ssize_t n;

	if (dir != NULL) {
		snprintf(buf, len, "%s/watchstand-agent-%s.so", dir, name);
		return;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 0] = '\0';
	if ((slash = strrchr(exe, '/')) != NULL)
		*slash = '\0';
	else
		snprintf(exe, sizeof(exe), ".");
	/* Beside the binary: the build tree, or wherever it was copied. */
	snprintf(buf, len, "%s/watchstand-agent-%s.so", exe, name);
	if (access(buf, F_OK) == 0)
		return;
	/* Else lib/watchstand beside its bin/: /usr/bin/watchstand-agent
	 * finds /usr/lib/watchstand (the packages' layout, Debian keeping
	 * no libraries in /usr/bin), whatever the prefix. */
	if ((slash = strrchr(exe, '/')) != NULL)
		*slash = '\0';
	snprintf(buf, len, "%s/lib/watchstand/watchstand-agent-%s.so", exe,
	         name);
}

static void *
module_open(const char *name, char *err, size_t errlen)
{
	char path[PATH_MAX];
	const char *why;
	void *h;
	size_t i;

	for (i = 0; i < nmodules; i++)
		if (strcmp(modules[i].name, name) == 0)
			return modules[i].handle;
	module_path(name, path, sizeof(path));
	/* Now, not lazily: a missing symbol is an error at start-up. */
	if ((h = dlopen(path, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		why = dlerror();
		snprintf(err, errlen, "cannot load the %s module: %s", name,
		         why != NULL ? why : "unknown error");
		return NULL;
	}
	if (nmodules < sizeof(modules) / sizeof(modules[0])) {
		snprintf(modules[nmodules].name, sizeof(modules[0].name), "%s",
		         name);
		modules[nmodules++].handle = h;
	}
	return h;
}

void *
module_symbol(const char *name, const char *symbol, char *err, size_t errlen)
{
	void *h, *sym;

	if ((sym = dlsym(RTLD_DEFAULT, symbol)) != NULL)
		return sym;
	if ((h = module_open(name, err, errlen)) == NULL)
		return NULL;
	if ((sym = dlsym(h, symbol)) == NULL)
		snprintf(err, errlen, "module %s has no %s", name, symbol);
	return sym;
}
