// Uses the installed headers and library: a forked child sends a value through a Pipe and a
// Queue, the parent checks both and the child's exit code. Exit status 0 only if all hold.
#include <mpc/connection.hpp>
#include <mpc/pickle.hpp>
#include <mpc/process.hpp>
#include <mpc/queue.hpp>
#include <mpc/value.hpp>

#include <cstdio>

int main() {
  const mpc::Value sent =
      mpc::Value::list({mpc::Value::integer(1), mpc::Value::str("two"), mpc::Value::bytes(std::string("\x00\x03", 2))});
  auto [reader, writer] = mpc::Pipe(false);
  mpc::Queue queue;
  mpc::Process child([&] {
    writer.send(sent);
    queue.put(mpc::Value::integer(42));
    return 7;
  });
  child.start();
  writer.close();
  const mpc::Value got = reader.recv();
  const mpc::Value item = queue.get(true, 10.0);
  child.join();
  const bool ok = mpc::equal(got, sent) && item.to_int64() == 42 && child.exitcode() == 7 &&
                  mpc::pickle::dumps(got, 4) == mpc::pickle::dumps(sent, 4);
  std::printf("pipe value %s, queue item %s, exit code %d: %s\n", mpc::equal(got, sent) ? "equal" : "DIFFERENT",
              item.to_int64() == 42 ? "42" : "WRONG", child.exitcode().value_or(-999), ok ? "ok" : "FAILED");
  return ok ? 0 : 1;
}
