# Multi-queue virtio-blk in QEMU (docs/interface.md, "Multi-queue"): the disk
# pattern both ways with num-queues 1, 2 and 4 on 4 vCPUs, legacy and
# modern transports, 512-byte and 4 KiB sectors; blk.queues asks for the
# queues even while a CPU shares them, so every queue is set up, reset-ready
# and drained by the one interrupt; blk.mq=0 keeps one queue.
blk_pattern_test(NAME blk.mq.fill.queues1 MODE guest-fill DISKS 16M,queues=1 BOOT --smp 4
                 EXPECT "vda: virtio-blk, .*, 1 queue" APPEND blk.queues=4)
blk_pattern_test(NAME blk.mq.fill.queues2_legacy_gic2 MODE guest-fill DISKS 16M,queues=2
                 BOOT --smp 4 --legacy --gic 2 EXPECT "vda: virtio-blk, .*, 2 queues" APPEND blk.queues=4)
blk_pattern_test(NAME blk.mq.fill.queues4 MODE guest-fill DISKS 16M,queues=4 BOOT --smp 4
                 EXPECT "vda: virtio-blk, .*, 4 queues" APPEND blk.queues=4)
blk_pattern_test(NAME blk.mq.check.queues4_lbs4096_legacy MODE host-write
                 DISKS 16M,lbs=4096,queues=4 BOOT --smp 4 --legacy
                 EXPECT "vda: virtio-blk, .*, 4 queues" APPEND blk.queues=4)
blk_pattern_test(NAME blk.mq.check.queues2_lbs4096 MODE host-write DISKS 16M,lbs=4096,queues=2
                 BOOT --smp 4 EXPECT "vda: virtio-blk, .*, 2 queues" APPEND blk.queues=4)
blk_pattern_test(NAME blk.mq.fill.two_disks_queues4 MODE guest-fill DISKS 16M,queues=4 8M,queues=2
                 BOOT --smp 4 EXPECT "vdb: virtio-blk, .*, 2 queues" APPEND blk.queues=4)
blk_pattern_test(NAME blk.mq.fill.mq_off MODE guest-fill DISKS 16M,queues=4 BOOT --smp 4
                 EXPECT "vda: virtio-blk, .*, 1 queue" APPEND blk.mq=0)

# The recovery cases with several queues are in robust.cmake (robust.mq.*).
