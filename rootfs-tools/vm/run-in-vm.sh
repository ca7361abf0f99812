#!/usr/bin/env bash
# Runs a shell command inside the cgroup-v2 test VM (QEMU, software emulation; KVM is not
# used), in directory DIR, and exits with the command's status.
# Usage: run-in-vm.sh VMDIR DIR COMMAND
#   VMDIR from build-vm.sh; output streams to stdout; FR_VM_MEMORY (MiB, default 4096),
#   FR_VM_CPUS (default 2), FR_VM_TIMEOUT (seconds, default 2400).
set -euo pipefail
vm=${1:?usage: run-in-vm.sh VMDIR DIR COMMAND}
dir=${2:?}
cmd=${3:?}
qemu=$(command -v qemu-system-x86_64) || { echo "run-in-vm.sh: qemu-system-x86_64 is needed (apt-get install qemu-system-x86)" >&2; exit 1; }
log=$(mktemp)
trap 'rm -f "$log"' EXIT
b64() { printf '%s' "$1" | base64 -w0; }
# cgroup_no_v1=all: nothing may mount a v1 hierarchy; the VM is v2 only.
vmabs=$(cd "$vm" && pwd)
append="console=ttyS0 quiet panic=-1 cgroup_no_v1=all fr.cmd=$(b64 "$cmd") fr.cwd=$(b64 "$dir") fr.modules=$(b64 "$vmabs/modules")"
set +e
timeout "${FR_VM_TIMEOUT:-2400}" "$qemu" -accel tcg,thread=multi -machine q35 -cpu max -smp "${FR_VM_CPUS:-2}" \
  -m "${FR_VM_MEMORY:-4096}" -kernel "$vm/vmlinuz" -initrd "$vm/initrd.img" -append "$append" \
  -virtfs local,path=/,mount_tag=hostroot,security_model=passthrough,readonly=on,multidevs=remap \
  -nographic -no-reboot -nodefaults -serial stdio -monitor none </dev/null | tee "$log"
set -e
status=$(grep -a -o 'FR-VM-EXIT=[0-9]*' "$log" | tail -1 | cut -d= -f2)
[ -n "$status" ] || { echo "run-in-vm.sh: the VM ended without reporting a status" >&2; exit 125; }
exit "$status"
