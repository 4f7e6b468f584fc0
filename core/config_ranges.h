// Range checks over a whole config message, before any work starts: every
// number a user set is checked against what it means (sizes and counts
// positive, fractions within [0, 1], nothing else negative), and an error
// names the source (file or override) and the dotted key. A zero patch size
// or head count would otherwise surface as a division by zero deep inside a
// model; a negative timeout would switch the watchdog off.
#pragma once
#include <google/protobuf/message.h>

#include <string>

namespace fasrl {

// Checks the fields set in `message` (unset fields take the schema's
// defaults, which are valid). Throws kConfig naming `source` and the key.
void check_config_ranges(const google::protobuf::Message& message, const std::string& source);

}  // namespace fasrl
