// Preemption: SIGTERM and SIGUSR1 (SLURM's warning signal, `--signal=USR1@120`)
// set a flag; the training loop polls it at step boundaries, agrees on it across
// ranks, writes a checkpoint and exits with kPreemptedExitCode so the job
// script can requeue it. The handler only sets an atomic flag.
#pragma once

namespace fasrl {

// EX_TEMPFAIL: "stopped early on request, checkpoint written, run me again".
constexpr int kPreemptedExitCode = 75;

void install_preemption_handlers();
bool preemption_requested();
int preemption_signal();  // the signal received, 0 if none

}  // namespace fasrl
