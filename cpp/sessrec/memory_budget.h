// The memory budget: the most memory one request may ask for at once (a score matrix, a
// parameter table with its gradient and optimizer state, a training batch's activations, an
// array read from a file). A request over it throws InputError before anything is allocated,
// naming what needed how much, the budget, and how to change it, instead of swapping the
// machine to a halt or being killed by the OOM killer.
//
// The budget starts as SESSREC_MEMORY_BUDGET (bytes, or with a K/M/G/T suffix: "16G") or,
// without it, half of the machine's physical memory; sr.set_memory_budget changes it at run
// time (0 turns the checks off).
#pragma once
#include <cstdint>
#include <initializer_list>
#include <string>

namespace sessrec {

int64_t memory_budget();
void set_memory_budget(int64_t bytes);
// "16G", "512M", "1000000": bytes; throws InputError naming `source` on anything else.
int64_t parse_memory_size(const std::string& text, const std::string& source);

// The product of `factors` in bytes (each a count, the last one usually an element size),
// saturating at INT64_MAX instead of overflowing.
int64_t bytes_of(std::initializer_list<int64_t> factors);

// Throws InputError when `bytes` exceeds the budget: "<what> needs 12.0 GiB, over sessrec's
// memory budget of 8.0 GiB; <advice>, or raise the budget with sr.set_memory_budget(bytes) or
// SESSREC_MEMORY_BUDGET".
void require_within_budget(int64_t bytes, const std::string& what, const std::string& advice);

}  // namespace sessrec
