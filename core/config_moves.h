// Config keys that moved to another place in the schema: a config that still
// uses the old key gets an error naming the new one, not just "unknown key".
// Keys are dotted paths from the job config's top level.
#pragma once
#include <string>

namespace fasrl {

// The new key for a moved `key`, or "" when it did not move.
std::string moved_config_key(const std::string& key);

}  // namespace fasrl
