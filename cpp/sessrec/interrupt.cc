#include "sessrec/interrupt.h"

#include <omp.h>

#include <chrono>

namespace sessrec {
namespace {

std::atomic<InterruptHook> installed_hook{nullptr};

// Asking the host costs a lock (the GIL): do it at most every 20 ms.
constexpr auto kPollInterval = std::chrono::milliseconds(20);
thread_local std::chrono::steady_clock::time_point last_poll{};

}  // namespace

void set_interrupt_hook(InterruptHook hook) { installed_hook.store(hook); }

bool interrupt_requested() {
  const InterruptHook hook = installed_hook.load(std::memory_order_relaxed);
  if (hook == nullptr) return false;
  const auto now = std::chrono::steady_clock::now();
  if (now - last_poll < kPollInterval) return false;
  last_poll = now;
  return hook();
}

void check_interrupt() {
  if (interrupt_requested()) throw Interrupted();
}

bool ParallelInterrupt::stop() {
  if (stopped_.load(std::memory_order_relaxed)) return true;
  if (omp_get_thread_num() != 0 || ++calls_ < calls_per_poll_) return false;
  calls_ = 0;
  if (interrupt_requested()) {
    stopped_.store(true, std::memory_order_relaxed);
    return true;
  }
  return false;
}

}  // namespace sessrec
