/*
 * Moved to levblk/irq/irq.h, with the other headers one layer offers the
 * layers above it. This forwarding header goes away once the files being
 * written against the old name have moved over.
 */
#ifndef LEVBLK_IRQ_FORWARD_H
#define LEVBLK_IRQ_FORWARD_H

#include <levblk/irq/irq.h>

#endif
