/* The host table culvertd hands every transport plugin: the loop, the
 * config and the upcalls, bound to that plugin's struct cv_host. */
#ifndef CULVERT_HOST_H
#define CULVERT_HOST_H

#include <culvert/transport.h>

extern const struct cv_host_api host_api;

#endif
