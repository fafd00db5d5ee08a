# (Named to sort after robust.cmake and blk.cmake, whose helpers it uses.)
# virtio-blk over PCIe in QEMU (tools/qemu-boot disk options pci, pci=root,
# novectors): enumeration behind a root port, the disk pattern both ways with
# MSI-X (GICv2: GICv2m; GICv3: the ITS and LPIs) and with legacy INTx
# (vectors=0 or vpci.msix=0, on both GICs), a transitional device on the root
# bus, PCI disks named after the mmio ones, 4 KiB blocks, and the robustness
# cases (blkdebug errors, a stalled device reset and restarted) on PCI.
levblk_qemu_test(NAME pci.enumerate ARGS --gic 2 --disk /dev/null,pci=root --qemu -device
  --qemu pcie-root-port,id=rpx,chassis=9 APPEND run=selftest
  EXPECT_REGEX "pci: ECAM 0x4010000000 buses 0-1, 3 function\\(s\\), msi gicv2m"
  "pci 00:01.0: 1af4:1001 class 010000 BAR0 io 0x3eff1000\\+0x80 BAR1 mem 0x10000000\\+0x1000 BAR4 mem 0x10004000\\+0x4000 64-bit pref INTA irq 36"
  "pci 00:02.0: 1b36:000c class 060400"
  "virtio-pci 0: virtio-blk \\(device id 2\\) at 00:01.0, 1af4:1001")

blk_pattern_test(NAME pci.fill.msix_gic2 MODE guest-fill DISKS 32M,pci BOOT --gic 2
                 EXPECT "virtio-pci@01:00.0: MSI-X, [2-9] vectors")
blk_pattern_test(NAME pci.check.msix_gic2 MODE host-write DISKS 32M,pci BOOT --gic 2)
blk_pattern_test(NAME pci.fill.msix_its_gic3 MODE guest-fill DISKS 32M,pci BOOT --gic 3
                 EXPECT "virtio-pci@01:00.0: MSI-X, 2 vectors \\(irq 8192-8193")
blk_pattern_test(NAME pci.check.msix_its_gic3 MODE host-write DISKS 32M,pci BOOT --gic 3)
blk_pattern_test(NAME pci.fill.intx_param_gic3 MODE guest-fill DISKS 32M,pci BOOT --gic 3
                 EXPECT "INTx \\(irq 36\\), not MSI-X: vpci.msix=0" APPEND vpci.msix=0)
blk_pattern_test(NAME pci.fill.intx_novectors_gic2 MODE guest-fill DISKS 16M,pci,novectors
                 BOOT --gic 2 EXPECT "INTx \\(irq 36\\), not MSI-X: no usable MSI-X table")
blk_pattern_test(NAME pci.check.intx_param_gic2 MODE host-write DISKS 16M,pci BOOT --gic 2
                 EXPECT "not MSI-X: vpci.msix=0" APPEND vpci.msix=0)
blk_pattern_test(NAME pci.fill.transitional_root_lbs4096 MODE guest-fill DISKS 16M,pci=root,lbs=4096
                 BOOT --gic 2)
# Names: mmio disks first (vda, vdb), then PCI in slot order (vdc behind the
# first root port, vdd behind the second), whatever the --disk order.
blk_pattern_test(NAME pci.fill.beside_mmio MODE guest-fill DISKS 16M,pci 8M 4M,pci,novectors 8M,lbs=4096
                 BOOT --gic 2
                 EXPECT "vda: virtio-blk, 16384 sectors \\(8 MiB\\), 512-byte"
                 "vdb: virtio-blk, 16384 sectors \\(8 MiB\\), 4096-byte"
                 "vdc: virtio-blk, 32768 sectors" "vdd: virtio-blk, 8192 sectors")

robust_test(NAME pci.robust.blkdebug.write_persistent CASE write-persistent OPTS --disk-opt pci)
robust_test(NAME pci.robust.blkdebug.read_persistent_its CASE read-persistent
  OPTS --disk-opt pci --boot=--gic --boot=3)
robust_test(NAME pci.robust.blkdebug.transient CASE transient OPTS --disk-opt pci --boot=--gic --boot=2)
robust_test(NAME pci.robust.timeout.stall_reset_msix CASE stall FAULT_INJECT
  OPTS --disk-opt pci --boot=--gic --boot=2)
robust_test(NAME pci.robust.timeout.stall_reset_intx CASE stall FAULT_INJECT
  OPTS --disk-opt pci --disk-opt novectors --boot=--gic --boot=3)
robust_test(NAME pci.robust.timeout.stall_reset_its CASE stall FAULT_INJECT
  OPTS --disk-opt pci --boot=--gic --boot=3)
robust_test(NAME pci.robust.timeout.lost_irq_msix CASE lost-irq FAULT_INJECT
  OPTS --disk-opt pci --boot=--gic --boot=2)

# Several request queues on PCI: one MSI-X vector each (GICv2m SPIs, ITS
# LPIs), or all on the INTx line.
blk_pattern_test(NAME pci.fill.mq2_msix_smp2 MODE guest-fill DISKS 16M,pci,queues=2 BOOT --gic 2 --smp 2
                 EXPECT "MSI-X, 3 vectors")
blk_pattern_test(NAME pci.check.mq4_its MODE host-write DISKS 16M,pci,queues=4 BOOT --gic 3
                 EXPECT "MSI-X, 5 vectors \\(irq 8192-8196" APPEND blk.queues=4)
blk_pattern_test(NAME pci.fill.mq4_intx MODE guest-fill DISKS 16M,pci,queues=4 BOOT --gic 3
                 EXPECT "not MSI-X: vpci.msix=0" APPEND blk.queues=4 vpci.msix=0)

# On several CPUs each queue's own vector goes to the first CPU that submits
# to it (blk_mq_irq_cpu) and is taken there (away=0): ITS collections moved
# with MOVI on GICv3, GICv2m SPIs through ITARGETSR on GICv2.
set(pci_q_taken "taken=[1-9][0-9]* away=0")
blk_pattern_test(NAME pci.fill.mq4_its_smp4 MODE guest-fill DISKS 16M,pci,queues=4
                 BOOT --gic 3 --smp 4
                 EXPECT "vda: queue interrupts to CPUs q0:0 q1:1 q2:2 q3:3"
                 "# vda interrupts: q0 irq=8193 cpu=0 ${pci_q_taken}, q1 irq=8194 cpu=1 ${pci_q_taken}, q2 irq=8195 cpu=2 ${pci_q_taken}, q3 irq=8196 cpu=3 ${pci_q_taken}")
blk_pattern_test(NAME pci.check.mq4_v2m_smp4 MODE host-write DISKS 16M,pci,queues=4
                 BOOT --gic 2 --smp 4
                 EXPECT "vda: queue interrupts to CPUs q0:0 q1:1 q2:2 q3:3"
                 "# vda interrupts: q0 irq=81 cpu=0 ${pci_q_taken}, q1 irq=82 cpu=1 ${pci_q_taken}, q2 irq=83 cpu=2 ${pci_q_taken}, q3 irq=84 cpu=3 ${pci_q_taken}")
# Fewer queues than CPUs: CPUs 0,1 share queue 0, CPUs 2,3 queue 1.
blk_pattern_test(NAME pci.fill.mq2_its_smp4 MODE guest-fill DISKS 16M,pci,queues=2
                 BOOT --gic 3 --smp 4
                 EXPECT "vda: queue interrupts to CPUs q0:0 q1:2"
                 "# vda interrupts: q0 irq=8193 cpu=0 ${pci_q_taken}, q1 irq=8194 cpu=2 ${pci_q_taken}")
# A short MSI-X table (3 vectors, 4 queues): queues 1-3 share the last vector,
# which therefore stays on the disk's CPU; only queue 0's own vector moves.
blk_pattern_test(NAME pci.fill.mq4_short_table_smp4 MODE guest-fill DISKS 16M,pci,queues=4
                 BOOT --gic 3 --smp 4 --qemu -global --qemu virtio-blk-pci.vectors=3
                 EXPECT "MSI-X, 3 vectors" "vda: queue interrupts to CPUs q0:0"
                 "q1 irq=8194 cpu=0 ${pci_q_taken}, q2 irq=8194 cpu=0")

# The packed ring over PCI: MSI-X through the ITS, and INTx.
blk_pattern_test(NAME pci.fill.packed_its MODE guest-fill DISKS 16M,pci,packed BOOT --gic 3
                 EXPECT "packed ring")
blk_pattern_test(NAME pci.check.packed_intx_gic2 MODE host-write DISKS 16M,pci,packed,novectors BOOT --gic 2
                 EXPECT "packed ring")
