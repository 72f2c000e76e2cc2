#include "sessrec/memory_budget.h"

#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <limits>

#include "sessrec/errors.h"

namespace sessrec {
namespace {

constexpr int64_t kUnlimited = std::numeric_limits<int64_t>::max();

int64_t default_budget() {
  if (const char* text = std::getenv("SESSREC_MEMORY_BUDGET"))
    return parse_memory_size(text, "SESSREC_MEMORY_BUDGET");
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
  if (pages <= 0 || page <= 0) return kUnlimited;
  return static_cast<int64_t>(pages) * page / 2;
}

std::atomic<int64_t>& budget() {
  static std::atomic<int64_t> value{default_budget()};
  return value;
}

std::string readable(int64_t bytes) {
  char text[32];
  const double b = static_cast<double>(bytes);
  if (b >= 1024.0 * 1024 * 1024)
    std::snprintf(text, sizeof text, "%.1f GiB", b / (1024.0 * 1024 * 1024));
  else if (b >= 1024.0 * 1024)
    std::snprintf(text, sizeof text, "%.1f MiB", b / (1024.0 * 1024));
  else
    std::snprintf(text, sizeof text, "%lld bytes", static_cast<long long>(bytes));
  return text;
}

}  // namespace

int64_t parse_memory_size(const std::string& text, const std::string& source) {
  size_t i = 0;
  while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
  const size_t digits = i;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
  int64_t shift = 0;
  if (i < text.size()) {
    switch (std::toupper(static_cast<unsigned char>(text[i]))) {
      case 'K': shift = 10; break;
      case 'M': shift = 20; break;
      case 'G': shift = 30; break;
      case 'T': shift = 40; break;
      default: shift = -1;
    }
    ++i;
    if (i < text.size() && std::toupper(static_cast<unsigned char>(text[i])) == 'I') ++i;
    if (i < text.size() && std::toupper(static_cast<unsigned char>(text[i])) == 'B') ++i;
  }
  while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
  if (i == digits || shift < 0 || i != text.size() || i - digits > 18)
    throw InputError(source + ": '" + text + "' is not a memory size (bytes, or e.g. 512M, 16G)");
  const int64_t value = std::stoll(text.substr(digits));
  if (value > (kUnlimited >> shift)) return kUnlimited;
  return value << shift;
}

int64_t memory_budget() { return budget().load(); }

void set_memory_budget(int64_t bytes) {
  if (bytes < 0) throw InputError("memory budget must be >= 0 bytes (0: no limit)");
  budget().store(bytes == 0 ? kUnlimited : bytes);
}

int64_t bytes_of(std::initializer_list<int64_t> factors) {
  int64_t product = 1;
  for (int64_t f : factors) {
    if (f <= 0) return 0;
    if (__builtin_mul_overflow(product, f, &product)) return kUnlimited;
  }
  return product;
}

void require_within_budget(int64_t bytes, const std::string& what, const std::string& advice) {
  const int64_t limit = memory_budget();
  if (bytes <= limit) return;
  throw InputError(what + " needs " + readable(bytes) + ", over sessrec's memory budget of " +
                   readable(limit) + "; " + advice +
                   ", or raise the budget with sr.set_memory_budget(bytes) or the "
                   "SESSREC_MEMORY_BUDGET environment variable (e.g. 16G)");
}

}  // namespace sessrec
