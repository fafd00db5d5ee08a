/*
 * Moved to levblk/init.h (the registries hold no code, and every layer
 * declares entries). This forwarding header goes away once the files being
 * written against the old name have moved over.
 */
#ifndef LEVBLK_KERN_INIT_FORWARD_H
#define LEVBLK_KERN_INIT_FORWARD_H

#include <levblk/init.h>

#endif
