// `mpconform adapter-check 'CMD ...'` (spec/adapter-protocol.md#checking-an-adapter): runs one
// adapter through hello, a setup with an object of each type it claims, a trivial call of each
// operation it claims, and teardown, and lists every protocol violation, not only the first; also
// the capability report (what spec/api.yaml has that the adapter does not offer).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace mpconform {

// args: what follows "adapter-check" on the command line. spec_dir: the spec/ of the source tree
// (api.yaml, case.schema.json). Exit status: 0 no violation, 1 violations, 2 the check could not run.
int adapter_check_main(const std::vector<std::string>& args, const std::filesystem::path& spec_dir);

}  // namespace mpconform
