/*
 * Moved to levblk/console.h, the headers for code written on top of levblk.
 * This forwarding header goes away once the files being written against the
 * old name have moved over.
 */
#ifndef LEVBLK_HAL_CONSOLE_FORWARD_H
#define LEVBLK_HAL_CONSOLE_FORWARD_H

#include <levblk/console.h>

#endif
