// Ctrl-C for long C++ loops, without the core knowing about Python. The bindings install a hook
// that asks the host whether the user asked to stop (Python: PyErr_CheckSignals under the GIL);
// the core calls it between blocks, and throws Interrupted, which the bindings turn into
// KeyboardInterrupt. Without a hook (C++ tests, other hosts) nothing is ever interrupted.
#pragma once
#include <atomic>
#include <cstdint>
#include <stdexcept>

namespace sessrec {

class Interrupted : public std::runtime_error {
 public:
  Interrupted() : std::runtime_error("interrupted") {}
};

// The hook returns true when the work should stop. It may be called from any thread.
using InterruptHook = bool (*)();
void set_interrupt_hook(InterruptHook hook);

// Asks the hook, at most every few milliseconds (a clock read otherwise); true: stop.
bool interrupt_requested();

// Throws Interrupted when the hook says stop. Never call it inside an OpenMP region: use
// ParallelInterrupt there.
void check_interrupt();

// For OpenMP loops, where no exception may cross the region's boundary: thread 0 (the thread
// that holds the host's call) polls the hook, every thread skips its remaining work once the
// flag is up, and the caller throws after the region.
//
//   ParallelInterrupt interrupt(64);  // poll every 64th call of thread 0: cheap loop bodies
//   #pragma omp parallel for
//   for (...) { if (interrupt.stop()) continue; ... }
//   interrupt.throw_if_stopped();
class ParallelInterrupt {
 public:
  // Thread 0 reads the clock every `calls_per_poll`-th call (1 for loop bodies that take
  // milliseconds, more for cheap ones), and asks the hook at most every few milliseconds.
  explicit ParallelInterrupt(int64_t calls_per_poll = 1) : calls_per_poll_(calls_per_poll) {}
  bool stop();
  void throw_if_stopped() const {
    if (stopped_.load(std::memory_order_relaxed)) throw Interrupted();
  }

 private:
  std::atomic<bool> stopped_{false};
  int64_t calls_per_poll_;
  int64_t calls_ = 0;  // touched by thread 0 only
};

}  // namespace sessrec
