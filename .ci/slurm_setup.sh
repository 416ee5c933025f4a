#!/usr/bin/env bash
# A single-node SLURM (Debian's slurmctld, slurmd and munge) on this machine, for
# tests/cluster/test_slurm.py: the recipe `busbench jobs` prints run for real. Memory is a consumable
# resource (CR_Core_Memory, as on many clusters): a job without --mem gets the whole node, so the
# test sees array tasks run one after another unless they ask for memory. Idempotent: a running
# SLURM with this configuration is left as it is; one with another is restarted with this one.
# Runs as root (it writes /etc/slurm and starts daemons).
set -euo pipefail
if ! command -v slurmctld >/dev/null 2>&1; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null
fi
host=$(hostname -s)
# what slurmd finds on this machine (CPUs, sockets, RealMemory in MB), minus the UpTime line
node=$(slurmd -C | head -n 1)
conf=$(cat <<CONF
ClusterName=busbench-ci
SlurmctldHost=${host}
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
SlurmUser=root
${node}
PartitionName=debug Nodes=${host} Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES
CONF
)
if sinfo -h -o %T 2>/dev/null | grep -Eq 'idle|mixed|alloc' && [ "$(cat /etc/slurm/slurm.conf 2>/dev/null)" = "$conf" ]; then
  exit 0
fi
if pgrep -x slurmctld >/dev/null; then  # running with another configuration
  scontrol shutdown >/dev/null 2>&1 || true
  for _ in $(seq 30); do pgrep -x 'slurmctld|slurmd' >/dev/null || break; sleep 1; done
fi
mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm /run/munge
printf '%s\n' "$conf" > /etc/slurm/slurm.conf
if [ ! -s /etc/munge/munge.key ]; then
  dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key 2>/dev/null
fi
chown -R munge:munge /etc/munge /run/munge 2>/dev/null || true
chmod 400 /etc/munge/munge.key
pgrep -x munged >/dev/null || runuser -u munge -- /usr/sbin/munged
pgrep -x slurmctld >/dev/null || slurmctld
pgrep -x slurmd >/dev/null || slurmd
for _ in $(seq 30); do
  if sinfo -h -o %T 2>/dev/null | grep -Eq 'idle|mixed|alloc'; then
    exit 0
  fi
  sleep 1
done
echo "slurm_setup: the node did not become idle; see /var/log/slurm/" >&2
sinfo >&2 || true
exit 1
