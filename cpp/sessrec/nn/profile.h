// Kernel timing: each kernel family adds its wall time to a named counter, so that a training
// step can be broken down (GEMM, attention, softmax, optimizer, ...) and the next optimisation
// chosen from data. Counting is off until enabled; when on it costs two clock reads per kernel.
#pragma once
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace sessrec::nn {

enum class Kernel : int {
  Linear,
  Attention,
  GRU,
  Softmax,
  Optimizer,
  LayerNorm,
  Embedding,
  Elementwise,
  Count
};

struct KernelProfile {
  std::atomic<bool> enabled{false};
  std::array<std::atomic<int64_t>, static_cast<int>(Kernel::Count)> nanoseconds{};
  std::array<std::atomic<int64_t>, static_cast<int>(Kernel::Count)> calls{};

  static KernelProfile& instance() {
    static KernelProfile profile;
    return profile;
  }
  void reset() {
    for (auto& n : nanoseconds) n = 0;
    for (auto& c : calls) c = 0;
  }
  static const char* name(Kernel k) {
    static const char* names[] = {"linear (GEMM)", "attention", "gru recurrence", "softmax loss",
                                  "optimizer",     "layernorm", "embedding",      "elementwise"};
    return names[static_cast<int>(k)];
  }
};

class KernelTimer {
 public:
  explicit KernelTimer(Kernel kernel) : kernel_(kernel) {
    if (KernelProfile::instance().enabled.load(std::memory_order_relaxed)) {
      active_ = true;
      start_ = std::chrono::steady_clock::now();
    }
  }
  ~KernelTimer() {
    if (!active_) return;
    auto& p = KernelProfile::instance();
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                        std::chrono::steady_clock::now() - start_)
                        .count();
    p.nanoseconds[static_cast<int>(kernel_)] += ns;
    p.calls[static_cast<int>(kernel_)] += 1;
  }
  KernelTimer(const KernelTimer&) = delete;
  KernelTimer& operator=(const KernelTimer&) = delete;

 private:
  Kernel kernel_;
  bool active_ = false;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace sessrec::nn
