#include "shared_mapping.hpp"

#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "mpc/errors.hpp"

namespace mpc::detail {

namespace {

std::size_t page_rounded(std::size_t bytes) {
  const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  return (bytes + page - 1) / page * page;
}

[[noreturn]] void raise_mapping_error(const char* what, int err) {
  throw OSError("[Errno " + std::to_string(err) + "] " + what + " of shared state failed", err);
}

}  // namespace

void Unmapper::operator()(void* p) const noexcept {
  ::munmap(p, len);
  if (fd >= 0) ::close(fd);
}

std::shared_ptr<void> map_shared(std::size_t bytes, StartMethod method) {
  const std::size_t len = page_rounded(bytes == 0 ? 1 : bytes);
  if (method == StartMethod::fork) {
    void* mem = ::mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) raise_mapping_error("mmap", errno);
    return {mem, Unmapper{len, -1}};
  }
  Fd fd(::memfd_create("mpc", MFD_CLOEXEC));
  if (!fd) raise_mapping_error("memfd_create", errno);
  if (::ftruncate(fd.get(), static_cast<off_t>(len)) != 0) raise_mapping_error("ftruncate", errno);
  void* mem = ::mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
  if (mem == MAP_FAILED) raise_mapping_error("mmap", errno);
  return {mem, Unmapper{len, fd.release()}};
}

std::shared_ptr<void> attach_shared(Fd fd, std::size_t bytes) {
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) raise_mapping_error("fstat", errno);
  const auto len = static_cast<std::size_t>(st.st_size);
  if (len < bytes || len == 0) throw ValueError("the shared memory given is smaller than the object it should hold");
  void* mem = ::mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
  if (mem == MAP_FAILED) raise_mapping_error("mmap", errno);
  return {mem, Unmapper{len, fd.release()}};
}

int shared_fd(const std::shared_ptr<void>& mem) noexcept {
  const auto* d = std::get_deleter<Unmapper>(mem);
  return d ? d->fd : -1;
}

std::size_t shared_len(const std::shared_ptr<void>& mem) noexcept {
  const auto* d = std::get_deleter<Unmapper>(mem);
  return d ? d->len : 0;
}

}  // namespace mpc::detail
