/*
 * Private to src/kern and its tests: hooks that let a test observe the
 * faults of the heap and of the sleeping locks instead of panicking. They
 * are harness, not interface, so they stay out of the users' headers
 * (levblk/kmalloc.h, levblk/mutex.h, levblk/rwlock.h).
 */
#ifndef LEVBLK_KERN_TEST_HOOKS_H
#define LEVBLK_KERN_TEST_HOOKS_H

/*
 * A heap fault (double free, foreign pointer, red zone or poison damaged,
 * wrong cache) calls hook(what, ptr, cache) instead of panicking, with the
 * heap's lock held (the hook must not use the heap); NULL restores the
 * panic. `what` is a sentence such as "double free". Returns the previous hook.
 */
typedef void kmem_fault_hook_fn(const char *what, const void *ptr, const char *cache);
kmem_fault_hook_fn *kmem_set_fault_hook(kmem_fault_hook_fn *hook);

/*
 * A misuse of a mutex or rwlock calls hook(what, lock name) instead of
 * panicking; NULL restores the panic. Returns the previous hook.
 */
typedef void lock_fault_hook_fn(const char *what, const char *lock);
lock_fault_hook_fn *lock_set_fault_hook(lock_fault_hook_fn *hook);

#endif
