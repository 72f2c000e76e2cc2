// Exceptions thrown at the C++ boundary. The bindings translate InputError to Python's
// ValueError and UnknownKeyError to KeyError; the message always says what is wrong and where.
#pragma once
#include <stdexcept>
#include <string>

namespace sessrec {

class InputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class UnknownKeyError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace sessrec
