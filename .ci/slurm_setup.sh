#!/usr/bin/env bash
# A single-node SLURM (Debian's slurmctld, slurmd and munge) on this machine, for
# tests/cluster/test_slurm.py: the README's `sbatch --array` recipe run for real. Idempotent: a
# running SLURM is left as it is. Runs as root (it writes /etc/slurm and starts daemons).
set -euo pipefail
if ! command -v slurmctld >/dev/null 2>&1; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null
fi
if sinfo -h -o %T 2>/dev/null | grep -Eq 'idle|mixed|alloc'; then
  exit 0
fi
host=$(hostname -s)
# what slurmd finds on this machine (CPUs, sockets, memory), minus the UpTime line
node=$(slurmd -C | head -n 1)
mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm /run/munge
cat > /etc/slurm/slurm.conf <<CONF
ClusterName=busbench-ci
SlurmctldHost=${host}
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
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
