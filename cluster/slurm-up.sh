#!/usr/bin/env bash
# cluster/slurm-up.sh DIR — bring up a real single-host SLURM (munge,
# slurmctld, slurmd from Debian's slurm-wlm) whose config, state, sockets and
# logs all live under DIR, on loopback ports. Then: `source DIR/env` and use
# sbatch/srun/squeue as on a cluster. cluster/slurm-down.sh DIR tears it down.
# Needs root (slurmd launches jobs as their user) and slurm-wlm + munge.
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 DIR" >&2; exit 2; }
for tool in munged slurmctld slurmd sinfo; do
  command -v $tool >/dev/null || { echo "slurm-up: $tool not found (apt-get install slurm-wlm munge)" >&2; exit 3; }
done
DIR=$(realpath -m "$1")
mkdir -p "$DIR"/{etc,spool/ctld,spool/d,log,run,munge}
chmod 700 "$DIR/munge"
host=$(hostname -s)
cpus=$(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc)  # nproc obeys OMP_NUM_THREADS
mem=$(awk '/MemTotal/ {print int($2 / 1024 * 0.8)}' /proc/meminfo)
port_base=${SLURM_UP_PORT:-16817}

dd if=/dev/urandom of="$DIR/munge/munge.key" bs=1024 count=1 status=none
chmod 400 "$DIR/munge/munge.key"
munged --force --key-file="$DIR/munge/munge.key" --socket="$DIR/munge/munge.socket" \
  --pid-file="$DIR/run/munged.pid" --log-file="$DIR/log/munged.log" --seed-file="$DIR/munge/seed"

cat > "$DIR/etc/slurm.conf" <<CONF
ClusterName=fasrl-local
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$port_base
SlurmdPort=$((port_base + 1))
AuthType=auth/munge
# cred_expire also holds a requeued job back that long (default 120 s);
# 10 s lets the preempt-requeue-resume test finish in well under a minute.
AuthInfo=socket=$DIR/munge/munge.socket,cred_expire=10
CredType=cred/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$DIR/spool/ctld
SlurmdSpoolDir=$DIR/spool/d
SlurmctldPidFile=$DIR/run/slurmctld.pid
SlurmdPidFile=$DIR/run/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
# sacct needs slurmdbd (and MariaDB), which this single-host SLURM does not run;
# finished jobs are recorded one line each in log/jobcomp.log instead.
JobCompType=jobcomp/filetxt
JobCompLoc=$DIR/log/jobcomp.log
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
MpiDefault=none
ReturnToService=2
JobRequeue=1
SlurmctldTimeout=30
SlurmdTimeout=30
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=local Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE
CONF
echo "export SLURM_CONF=$DIR/etc/slurm.conf" > "$DIR/env"
export SLURM_CONF="$DIR/etc/slurm.conf"

slurmctld -c
slurmd -N "$host"
# Ready when the node is idle (bounded: 60 s).
for _ in $(seq 1 120); do
  state=$(sinfo -h -N -o %T 2>/dev/null || true)
  case "$state" in idle*|mixed*) echo "slurm-up: node $host $state; source $DIR/env"; exit 0 ;; esac
  sleep 0.5
done
echo "slurm-up: node never became idle (state '${state:-none}'); logs in $DIR/log" >&2
tail -20 "$DIR/log/slurmctld.log" "$DIR/log/slurmd.log" >&2 || true
exit 1
