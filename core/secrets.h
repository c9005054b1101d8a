#pragma once
// Secrets that may be configured or, for a single node, generated once and kept
// in the data directory (mode 0600).

#include <string>

#include "core/result.h"

namespace jobcast {

// Returns `configured` when non-empty; else the contents of
// <data_dir>/secrets/<name>, creating it with `bytes` random bytes (hex) first.
Result<std::string> resolveSecret(const std::string& configured, const std::string& data_dir,
                                  const std::string& name, size_t bytes = 32);

// Creates `path` and any missing parents with mode 0700 (mkdir's own mode, so
// they are never open to others, even briefly); an existing `path` is
// narrowed to 0700. The data directory holds chat, names and secrets.
Result<bool> makePrivateDirectory(const std::string& path);

// `bytes` cryptographically random bytes as lower-case hex.
std::string randomHex(size_t bytes);

}  // namespace jobcast
