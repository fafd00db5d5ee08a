/*
 * Moved to levblk/completion.h, the headers for code written on top of levblk.
 * This forwarding header goes away once the files being written against the
 * old name have moved over.
 */
#ifndef LEVBLK_KERN_COMPLETION_FORWARD_H
#define LEVBLK_KERN_COMPLETION_FORWARD_H

#include <levblk/completion.h>

#endif
