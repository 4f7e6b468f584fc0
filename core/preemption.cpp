#include "core/preemption.h"

#include <csignal>

namespace fasrl {
namespace {
volatile std::sig_atomic_t g_signal = 0;
extern "C" void on_preempt(int sig) { g_signal = sig; }
}  // namespace

void install_preemption_handlers() {
  struct sigaction action {};
  action.sa_handler = on_preempt;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGUSR1, &action, nullptr);
}

bool preemption_requested() { return g_signal != 0; }
int preemption_signal() { return g_signal; }

}  // namespace fasrl
