/* Private to src/hal: the bring-up code publishes the online count. */
#ifndef LEVBLK_HAL_PERCPU_PRIVATE_H
#define LEVBLK_HAL_PERCPU_PRIVATE_H

/* Boot CPU only, once each CPU is ready to run threads. */
void percpu_set_online(unsigned int n);

#endif
