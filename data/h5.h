// Thin RAII and error helpers over the HDF5 C API. Every failing call becomes
// a fasrl::Error naming the file, the dataset and HDF5's own innermost reason;
// HDF5's automatic stderr dump is switched off.
#pragma once
#include <hdf5.h>

#include <string>
#include <utility>

namespace fasrl::data::h5 {

// Owns one hid_t and closes it with the right H5*close.
class Handle {
 public:
  Handle() = default;
  explicit Handle(hid_t id) : id_(id) {}
  Handle(Handle&& o) noexcept : id_(std::exchange(o.id_, H5I_INVALID_HID)) {}
  Handle& operator=(Handle&& o) noexcept {
    if (this != &o) {
      reset();
      id_ = std::exchange(o.id_, H5I_INVALID_HID);
    }
    return *this;
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  ~Handle() { reset(); }
  hid_t get() const { return id_; }
  bool valid() const { return id_ >= 0; }
  void reset();

 private:
  hid_t id_ = H5I_INVALID_HID;
};

// Turns off HDF5's error printing for the calling thread (idempotent).
void quiet();
// HDF5's innermost error description on this thread's stack ("" if none).
std::string last_error();

// Throws kCorruption "<file>: <what> (HDF5: <reason>)" when id < 0.
hid_t check(hid_t id, const std::string& file, const std::string& what);
void check_status(herr_t status, const std::string& file, const std::string& what);

bool exists(hid_t file, const std::string& path);  // link exists, parents included

// Variable-length UTF-8 string type (caller owns).
Handle vlen_utf8_type();

}  // namespace fasrl::data::h5
